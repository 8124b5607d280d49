-- One row per day (reporting timezone) x market x channel x attribution model with attributed orders or ad
-- spend: orders and GMV credited by the model (conversion date), ad spend by report day and target market
-- (the same for every model), and the model's CPA and ROAS. Each fact is aggregated on its own at this grain
-- before the join. Every KPI comes from the metric glossary.
with credited as (
    select
        date_reporting,
        market_code,
        channel,
        model,
        {{ metric('attributed_conversions') }} as attributed_conversions,
        {{ metric('attributed_revenue') }} as attributed_revenue_reporting
    from {{ ref('fct_attribution') }}
    group by date_reporting, market_code, channel, model
),

models as (
    select distinct model from {{ ref('fct_attribution') }}
),

spend as (
    select
        date_reporting,
        market_code,
        channel,
        {{ metric('ad_spend') }} as ad_spend_reporting
    from {{ ref('fct_ad_spend_daily') }}
    where cost_type = 'ad_spend'
    group by date_reporting, market_code, channel
),

grain as (
    select date_reporting, market_code, channel, model from credited
    union
    select spend.date_reporting, spend.market_code, spend.channel, models.model
    from spend
    cross join models
),

combined as (
    select
        grain.date_reporting,
        grain.market_code,
        grain.channel,
        grain.model,
        coalesce(credited.attributed_conversions, 0) as attributed_conversions,
        coalesce(credited.attributed_revenue_reporting, 0) as attributed_revenue_reporting,
        coalesce(spend.ad_spend_reporting, 0) as ad_spend_reporting
    from grain
    left join credited
        on credited.date_reporting = grain.date_reporting
        and credited.market_code is not distinct from grain.market_code
        and credited.channel = grain.channel
        and credited.model = grain.model
    left join spend
        on spend.date_reporting = grain.date_reporting
        and spend.market_code is not distinct from grain.market_code
        and spend.channel = grain.channel
)

select
    date_reporting,
    market_code,
    channel,
    model,
    attributed_conversions,
    attributed_revenue_reporting,
    ad_spend_reporting,
    {{ metric('attributed_cpa') }} as attributed_cpa_reporting,
    {{ metric('attributed_roas') }} as attributed_roas
from combined
