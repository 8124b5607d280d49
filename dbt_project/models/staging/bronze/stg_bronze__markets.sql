-- One row per market: its row in the latest market snapshot. serving_warehouse is the overseas warehouse
-- that ships overseas-stocked SKUs to the market, or 'CN-direct' when every order ships from China.
with source as (
    select * from {{ source('bronze', 'markets') }}
),

renamed as (
    select
        market as market_code,
        upper(currency) as currency_code,
        language as market_language,
        timezone as market_timezone,
        vat_rate,
        payment_methods as payment_methods_json,
        serving_warehouse,
        snapshot_date
    from source
    qualify row_number() over (partition by market order by snapshot_date desc, _ingested_at desc) = 1
)

select * from renamed
