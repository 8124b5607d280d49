-- One row per seller: the health score and its components in the seller's latest complete week, the change vs
-- the week before, and the alerts and recommendations of that week (the "Seller health" dashboard's table).
with weeks as (
    select
        *,
        row_number() over (partition by seller_id order by period_start desc) as recency
    from {{ ref('seller_scorecard') }}
    where period_type = 'week' and is_complete
),

latest as (
    select * from weeks where recency = 1
),

before as (
    select seller_id, health_score from weeks where recency = 2
),

alerts as (
    select seller_id, period_start, count(*) as alerts, count(*) filter (where severity = 'high') as high_alerts
    from {{ ref('seller_alerts') }}
    where period_type = 'week'
    group by seller_id, period_start
),

recommendations as (
    select seller_id, period_start, count(*) as recommendations
    from {{ ref('seller_recommendations') }}
    where period_type = 'week'
    group by seller_id, period_start
)

select
    latest.seller_id,
    sellers.seller_name,
    latest.main_category,
    latest.plan_tier,
    sellers.seller_country,
    latest.period_start as week_start,
    latest.health_score,
    latest.health_score - before.health_score as health_score_change,
    latest.health_growth,
    latest.health_conversion,
    latest.health_refunds,
    latest.health_delivery,
    latest.health_stock,
    latest.gmv_reporting,
    latest.gmv_growth_previous,
    coalesce(alerts.alerts, 0) as alerts,
    coalesce(alerts.high_alerts, 0) as high_alerts,
    coalesce(recommendations.recommendations, 0) as recommendations
from latest
inner join {{ ref('dim_seller') }} as sellers using (seller_id)
left join before using (seller_id)
left join alerts using (seller_id, period_start)
left join recommendations using (seller_id, period_start)
