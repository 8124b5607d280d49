-- One row per web/app analytics event (bronze.clicks; event_id is the feed's primary key, deduplicated at
-- ingest). Keys the source omits are null. No window here, so filters on event_date reach the Delta scan.
-- Incremental builds test only the recent event_dates (test_window_column; macros/test_window.sql).
{{ config(test_window_column='event_date') }}

with source as (
    select * from {{ source('bronze', 'clicks') }}
),

renamed as (
    select
        event_id,
        event_name,
        event_ts as event_at,
        event_date,
        anonymous_id,
        session_id,
        customer_key,
        page as page_path,
        nullif(referrer, '') as referrer,
        nullif(utm_source, '') as utm_source,
        nullif(utm_medium, '') as utm_medium,
        nullif(utm_campaign, '') as utm_campaign,
        gclid,
        fbclid,
        ttclid,
        device,
        platform,
        country as market_code,
        language,
        product_id as sku,
        search_term,
        order_id,
        value::decimal(18, 4) as purchase_value,
        currency as currency_code,
        _source_file as source_file,
        _ingested_at as ingested_at
    from source
)

select * from renamed
