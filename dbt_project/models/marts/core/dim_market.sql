-- One row per market (marketplace country): currency, language, time zone, VAT, serving warehouse, region.
select
    market_code,
    currency_code,
    market_language,
    market_timezone,
    vat_rate,
    serving_warehouse,
    serving_warehouse = 'CN-direct' as is_cn_direct,
    case
        when market_code in ('US', 'CA') then 'North America'
        when market_code in ('BR', 'MX') then 'Latin America'
        when market_code in ('GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'PL') then 'Europe'
        when market_code in ('SA', 'AE') then 'Middle East'
        when market_code in ('JP', 'KR') then 'East Asia'
        when market_code in ('ID', 'TH', 'VN', 'PH', 'MY', 'SG') then 'Southeast Asia'
        when market_code in ('AU', 'NZ') then 'Oceania'
        else 'Other'
    end as region,
    payment_methods_json
from {{ ref('stg_bronze__markets') }}
