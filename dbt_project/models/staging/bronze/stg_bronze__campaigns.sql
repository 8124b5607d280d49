-- One row per ad campaign: the latest campaign snapshot (snapshots are full tables as of snapshot_date).
with source as (
    select * from {{ source('bronze', 'campaigns') }}
),

latest as (
    select *
    from source
    where snapshot_date = (select max(snapshot_date) from source)
    qualify row_number() over (partition by platform, campaign_id order by _ingested_at desc) = 1
),

renamed as (
    select
        campaign_id,
        campaign_name,
        platform,
        channel,
        account_id,
        account_type,
        seller_id,
        upper(account_currency) as account_currency_code,
        target_market as market_code,
        daily_budget::decimal(18, 4) as daily_budget,
        start_date,
        end_date,
        snapshot_date
    from latest
)

select * from renamed
