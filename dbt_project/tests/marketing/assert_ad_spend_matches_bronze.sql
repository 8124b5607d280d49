-- Ad spend in silver (and in the mart) equals bronze ad spend converted at the report day's rate, per
-- platform and day, and other channel costs equal bronze marketing costs converted the same way.
with bronze_spend as (
    select spend.date, spend.platform, sum(spend.spend * fx.to_reporting) as spend_reporting
    from {{ source('bronze', 'ad_spend') }} as spend
    left join {{ ref('int_fx_rates__daily') }} as fx
        on fx.currency_code = upper(spend.currency) and fx.rate_date = spend.date
    group by spend.date, spend.platform
),

bronze_costs as (
    select costs.date, sum(costs.amount * fx.to_reporting) as other_costs_reporting
    from {{ source('bronze', 'marketing_costs') }} as costs
    left join {{ ref('int_fx_rates__daily') }} as fx
        on fx.currency_code = upper(costs.currency) and fx.rate_date = costs.date
    group by costs.date
),

silver_spend as (
    select date, platform, sum(spend_reporting) as spend_reporting
    from {{ ref('ad_spend_daily') }}
    where cost_type = 'ad_spend'
    group by date, platform
),

silver_costs as (
    select date, sum(other_costs_reporting) as other_costs_reporting
    from {{ ref('ad_spend_daily') }}
    where cost_type <> 'ad_spend'
    group by date
),

mart as (
    select sum(spend_reporting) as spend_reporting, sum(other_costs_reporting) as other_costs_reporting
    from {{ ref('fct_ad_spend_daily') }}
),

spend_diffs as (
    select 'ad_spend' as check_name, coalesce(b.date, s.date) as date, coalesce(b.platform, s.platform) as key,
        b.spend_reporting as expected, s.spend_reporting as actual
    from bronze_spend as b
    full outer join silver_spend as s on s.date = b.date and s.platform = b.platform
    where b.spend_reporting is null or s.spend_reporting is null
        or abs(b.spend_reporting - s.spend_reporting) > 0.001
),

cost_diffs as (
    select 'other_costs' as check_name, coalesce(b.date, s.date) as date, null as key,
        b.other_costs_reporting as expected, s.other_costs_reporting as actual
    from bronze_costs as b
    full outer join silver_costs as s on s.date = b.date
    where b.other_costs_reporting is null or s.other_costs_reporting is null
        or abs(b.other_costs_reporting - s.other_costs_reporting) > 0.001
),

mart_diffs as (
    select 'mart_total' as check_name, null as date, null as key,
        (select sum(spend_reporting) from bronze_spend) + (select sum(other_costs_reporting) from bronze_costs) as expected,
        mart.spend_reporting + mart.other_costs_reporting as actual
    from mart
    where abs(expected - actual) > 0.01
)

select * from spend_diffs
union all
select * from cost_diffs
union all
select * from mart_diffs
