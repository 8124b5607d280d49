-- One row per currency x rate date: units of the currency per 1 EUR (EUR itself added at 1.0).
with source as (
    select * from {{ source('bronze', 'fx_rates') }}
),

renamed as (
    select
        upper(currency) as currency_code,
        rate_date,
        rate::double as units_per_eur
    from source
    where currency_denom = 'EUR'
    qualify row_number() over (partition by upper(currency), rate_date order by _ingested_at desc) = 1
)

select * from renamed
union all
select distinct 'EUR' as currency_code, rate_date, 1.0 as units_per_eur from renamed
