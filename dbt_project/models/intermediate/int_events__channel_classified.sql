-- One row per analytics event, with the marketing channel its utm tags and referrer point to (the FORMATS.md
-- rule; only meaningful on the landing event of a session, which is the only one carrying them). A row-wise
-- view: filters on event_date still prune the bronze scan.
with events as (
    select * from {{ ref('stg_bronze__events') }}
),

classified as (
    select
        *,
        case
            when utm_medium = 'cpc' and utm_source = 'google' then 'google_search'
            when utm_medium = 'shopping' then 'google_shopping'
            when utm_medium = 'paid_social' and utm_source = 'tiktok' then 'tiktok'
            when utm_medium = 'paid_social' then 'meta'
            when utm_medium = 'sponsored_products' then 'marketplace_ads'
            when utm_medium = 'email' then 'email'
            when utm_medium = 'affiliate' then 'affiliate'
            -- untagged visits (utm_medium null, or a medium outside the rule) fall back to the referrer
            when regexp_matches(coalesce(referrer, ''), 'google\.|bing\.|yahoo\.|naver\.|duckduckgo\.|baidu\.|yandex\.')
                then 'organic_search'
            when referrer is not null then 'referral'
            else 'direct'
        end as channel,
        case
            when gclid is not null then 'gclid'
            when fbclid is not null then 'fbclid'
            when ttclid is not null then 'ttclid'
        end as click_id_type
    from events
)

select
    *,
    channel in ('google_search', 'google_shopping', 'meta', 'tiktok', 'marketplace_ads') as is_paid,
    case when channel in ('google_search', 'google_shopping', 'meta', 'tiktok', 'marketplace_ads')
        then utm_campaign end as campaign_id
from classified
