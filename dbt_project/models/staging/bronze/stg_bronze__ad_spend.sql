-- One row per ad platform x report day x campaign, already normalised across Google Ads, Meta, TikTok and
-- marketplace ads by ingestion (spend in the ad account's currency, Google's micros divided out). A
-- re-delivered report row keeps its latest ingest.
with source as (
    select * from {{ source('bronze', 'ad_spend') }}
),

renamed as (
    select
        date as spend_date,
        platform,
        account_id,
        campaign_id,
        campaign_name,
        json_extract_string(_extra, '$.campaign_type') as campaign_type,
        upper(currency) as currency_code,
        impressions,
        clicks,
        spend::decimal(18, 4) as spend,
        _source_file as source_file,
        _ingested_at as ingested_at
    from source
    qualify row_number() over (partition by platform, date, campaign_id order by _ingested_at desc) = 1
)

select * from renamed
