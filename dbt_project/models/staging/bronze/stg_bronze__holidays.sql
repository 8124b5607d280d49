-- One row per date x market x holiday (holidays, sales events, seasons; market 'CN' carries the origin
-- slowdowns of Chinese New Year), from the latest snapshot that lists it.
with source as (
    select * from {{ source('bronze', 'holidays') }}
),

renamed as (
    select
        date as holiday_date,
        market as market_code,
        holiday as holiday_name,
        kind as holiday_kind,
        demand_multiplier,
        snapshot_date
    from source
    qualify row_number() over (
        partition by date, market, holiday order by snapshot_date desc, _ingested_at desc
    ) = 1
)

select * from renamed
