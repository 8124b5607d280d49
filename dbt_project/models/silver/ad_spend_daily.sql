-- One row per day x platform x campaign of ad spend (cost_type 'ad_spend'), plus one row per day x channel
-- x cost_type x market x currency of non-ad marketing costs (affiliate commissions in the order's market and
-- currency, email tool fees platform-wide in USD). Amounts in the original currency and in the reporting
-- currency at the day's rate: ad spend in spend_reporting, other costs in other_costs_reporting.
{{ config(materialized='delta') }}

with ad_spend as (
    select * from {{ ref('stg_bronze__ad_spend') }}
),

campaigns as (
    select campaign_id, platform, channel, seller_id, market_code from {{ ref('stg_bronze__campaigns') }}
),

costs as (
    select * from {{ ref('stg_bronze__marketing_costs') }}
),

orders as (
    select order_id, market_code from {{ ref('stg_bronze__orders') }}
),

fx as (
    select rate_date, currency_code, to_reporting from {{ ref('int_fx_rates__daily') }}
),

ad_spend_rows as (
    select
        ad_spend.spend_date as date,
        ad_spend.platform,
        coalesce(
            campaigns.channel,
            case ad_spend.platform
                when 'google_ads' then case when ad_spend.campaign_type = 'Shopping' then 'google_shopping' else 'google_search' end
                else ad_spend.platform
            end
        ) as channel,
        ad_spend.campaign_id,
        campaigns.seller_id,
        campaigns.market_code as target_market,
        'ad_spend' as cost_type,
        ad_spend.impressions,
        ad_spend.clicks,
        ad_spend.spend as spend_original,
        ad_spend.currency_code
    from ad_spend
    left join campaigns
        on campaigns.campaign_id = ad_spend.campaign_id
        and campaigns.platform = ad_spend.platform
),

cost_rows as (
    select
        costs.cost_date as date,
        null::varchar as platform,
        costs.channel,
        null::varchar as campaign_id,
        null::varchar as seller_id,
        orders.market_code as target_market,
        costs.cost_type,
        null::bigint as impressions,
        null::bigint as clicks,
        sum(costs.amount) as spend_original,
        costs.currency_code
    from costs
    left join orders on orders.order_id = costs.order_id
    group by all
),

unioned as (
    select * from ad_spend_rows
    union all by name
    select * from cost_rows
)

select
    unioned.date,
    unioned.platform,
    unioned.channel,
    unioned.campaign_id,
    unioned.seller_id,
    unioned.target_market,
    unioned.cost_type,
    unioned.impressions,
    unioned.clicks,
    unioned.spend_original,
    unioned.currency_code,
    case when unioned.cost_type = 'ad_spend' then unioned.spend_original * fx.to_reporting else 0 end
        as spend_reporting,
    case when unioned.cost_type <> 'ad_spend' then unioned.spend_original * fx.to_reporting else 0 end
        as other_costs_reporting
from unioned
left join fx on fx.currency_code = unioned.currency_code and fx.rate_date = unioned.date
