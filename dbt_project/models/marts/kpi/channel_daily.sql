-- One row per day (reporting timezone) x channel with any activity: ad spend, other channel costs,
-- impressions and clicks by report day, sessions by session start, orders, revenue (GMV) and new customers
-- credited to the channel by last non-direct click by order date, refunds by refund date; then CPA, ROAS
-- and CAC. Each fact is aggregated on its own at this grain before the join. Every KPI comes from the
-- metric glossary.
with order_days as (
    select
        order_date_reporting as date_reporting,
        channel,
        {{ metric('orders') }} as orders,
        {{ metric('units') }} as units,
        {{ metric('gmv') }} as gmv_reporting,
        {{ metric('customers') }} as customers,
        {{ metric('new_customers') }} as new_customers,
        {{ metric('returning_customers') }} as returning_customers
    from {{ ref('fct_orders') }}
    group by order_date_reporting, channel
),

refund_days as (
    select
        refund_date_reporting as date_reporting,
        channel,
        {{ metric('refunds') }} as refunds_reporting
    from {{ ref('fct_returns') }}
    group by refund_date_reporting, channel
),

session_days as (
    select
        session_date_reporting as date_reporting,
        channel,
        {{ metric('sessions') }} as sessions,
        {{ metric('converted_sessions') }} as converted_sessions
    from {{ ref('fct_sessions') }}
    group by session_date_reporting, channel
),

spend_days as (
    select
        date_reporting,
        channel,
        {{ metric('ad_spend') }} as ad_spend_reporting,
        {{ metric('other_channel_costs') }} as other_costs_reporting,
        {{ metric('impressions') }} as impressions,
        {{ metric('ad_clicks') }} as clicks
    from {{ ref('fct_ad_spend_daily') }}
    group by date_reporting, channel
),

grain as (
    select date_reporting, channel from order_days
    union
    select date_reporting, channel from refund_days
    union
    select date_reporting, channel from session_days
    union
    select date_reporting, channel from spend_days
),

combined as (
    select
        grain.date_reporting,
        grain.channel,
        channels.is_paid,
        channels.ad_platform,
        coalesce(spend_days.ad_spend_reporting, 0) as ad_spend_reporting,
        coalesce(spend_days.other_costs_reporting, 0) as other_costs_reporting,
        coalesce(spend_days.impressions, 0) as impressions,
        coalesce(spend_days.clicks, 0) as clicks,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.converted_sessions, 0) as converted_sessions,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.units, 0) as units,
        coalesce(order_days.gmv_reporting, 0) as gmv_reporting,
        coalesce(refund_days.refunds_reporting, 0) as refunds_reporting,
        coalesce(order_days.customers, 0) as customers,
        coalesce(order_days.new_customers, 0) as new_customers,
        coalesce(order_days.returning_customers, 0) as returning_customers
    from grain
    left join order_days using (date_reporting, channel)
    left join refund_days using (date_reporting, channel)
    left join session_days using (date_reporting, channel)
    left join spend_days using (date_reporting, channel)
    left join {{ ref('dim_channel') }} as channels on channels.channel = grain.channel
)

select
    date_reporting,
    channel,
    is_paid,
    ad_platform,
    ad_spend_reporting,
    other_costs_reporting,
    impressions,
    clicks,
    sessions,
    converted_sessions,
    {{ metric('conversion_rate') }} as conversion_rate,
    orders,
    units,
    gmv_reporting,
    {{ metric('aov') }} as aov_reporting,
    refunds_reporting,
    {{ metric('net_revenue') }} as net_revenue_reporting,
    customers,
    new_customers,
    returning_customers,
    {{ metric('cpa') }} as cpa_reporting,
    {{ metric('roas') }} as roas,
    {{ metric('cac') }} as cac_reporting
from combined
