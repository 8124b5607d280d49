-- One row per currency x calendar day, from the first published rate to 31 days after the last one:
-- the rate of that day, or the last published rate before it (weekends, holidays, today before the
-- 15:00 UTC publication). to_reporting multiplies an amount in currency_code into the reporting currency.
with rates as (
    select * from {{ ref('stg_bronze__fx_rates') }}
),

calendar as (
    select cast(range as date) as rate_date
    from range(
        (select min(rate_date) from rates),
        (select max(rate_date) + interval 32 day from rates),
        interval 1 day
    )
),

currencies as (
    select distinct currency_code from rates
),

filled as (
    select
        calendar.rate_date,
        currencies.currency_code,
        rates.units_per_eur,
        rates.rate_date as published_on
    from calendar
    cross join currencies
    asof left join rates
        on rates.currency_code = currencies.currency_code
        and calendar.rate_date >= rates.rate_date
),

reporting as (
    select rate_date, units_per_eur as reporting_per_eur
    from filled
    where currency_code = '{{ var("reporting_currency") }}'
)

select
    filled.rate_date,
    filled.currency_code,
    filled.units_per_eur,
    reporting.reporting_per_eur / filled.units_per_eur as to_reporting,
    filled.published_on,
    filled.published_on < filled.rate_date as is_carried_forward
from filled
inner join reporting using (rate_date)
where filled.units_per_eur is not null
