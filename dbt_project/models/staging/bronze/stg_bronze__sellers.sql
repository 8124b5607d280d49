-- One row per seller: the latest snapshot (reference snapshots are full tables as of snapshot_date).
with source as (
    select * from {{ source('bronze', 'sellers') }}
),

latest as (
    select *
    from source
    where snapshot_date = (select max(snapshot_date) from source)
    qualify row_number() over (partition by seller_id order by _ingested_at desc) = 1
),

renamed as (
    select
        seller_id,
        seller_name,
        country as seller_country,
        home_currency as home_currency_code,
        timezone as seller_timezone,
        language as seller_language,
        main_category,
        plan_tier,
        report_email,
        onboarded_on,
        origin_warehouse,
        status as seller_status,
        status_since,
        snapshot_date
    from latest
)

select * from renamed
