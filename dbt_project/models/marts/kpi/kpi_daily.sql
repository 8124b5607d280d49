-- One row per day (reporting timezone) x market x channel with any activity: order KPIs by order date,
-- refunds by refund date, sessions by session start, ad spend and other channel costs by report day.
-- Orders and refunds carry their last-non-direct-click channel. Each fact is aggregated on its own at
-- this grain, the aggregates are joined on the grain, then the derived KPIs are computed. market_code is
-- null only for platform-wide costs (email tool fees). Every KPI comes from the metric glossary.
with order_days as (
    select
        order_date_reporting as date_reporting,
        market_code,
        channel,
        {{ metric('orders') }} as orders,
        {{ metric('units') }} as units,
        {{ metric('gmv') }} as gmv_reporting,
        {{ metric('customers') }} as customers,
        {{ metric('new_customers') }} as new_customers,
        {{ metric('returning_customers') }} as returning_customers,
        {{ metric('refunded_orders') }} as refunded_orders
    from {{ ref('fct_orders') }}
    group by order_date_reporting, market_code, channel
),

refund_days as (
    select
        refund_date_reporting as date_reporting,
        market_code,
        channel,
        {{ metric('refunds') }} as refunds_reporting
    from {{ ref('fct_returns') }}
    group by refund_date_reporting, market_code, channel
),

session_days as (
    select
        session_date_reporting as date_reporting,
        market_code,
        channel,
        {{ metric('sessions') }} as sessions,
        {{ metric('converted_sessions') }} as converted_sessions
    from {{ ref('fct_sessions') }}
    group by session_date_reporting, market_code, channel
),

spend_days as (
    select
        date_reporting,
        market_code,
        channel,
        {{ metric('ad_spend') }} as ad_spend_reporting,
        {{ metric('other_channel_costs') }} as other_costs_reporting
    from {{ ref('fct_ad_spend_daily') }}
    group by date_reporting, market_code, channel
),

grain as (
    select date_reporting, market_code, channel from order_days
    union
    select date_reporting, market_code, channel from refund_days
    union
    select date_reporting, market_code, channel from session_days
    union
    select date_reporting, market_code, channel from spend_days
),

combined as (
    select
        grain.date_reporting,
        grain.market_code,
        grain.channel,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.units, 0) as units,
        coalesce(order_days.gmv_reporting, 0) as gmv_reporting,
        coalesce(refund_days.refunds_reporting, 0) as refunds_reporting,
        coalesce(order_days.customers, 0) as customers,
        coalesce(order_days.new_customers, 0) as new_customers,
        coalesce(order_days.returning_customers, 0) as returning_customers,
        coalesce(order_days.refunded_orders, 0) as refunded_orders,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.converted_sessions, 0) as converted_sessions,
        coalesce(spend_days.ad_spend_reporting, 0) as ad_spend_reporting,
        coalesce(spend_days.other_costs_reporting, 0) as other_costs_reporting
    from grain
    left join order_days
        on order_days.date_reporting = grain.date_reporting
        and order_days.market_code is not distinct from grain.market_code
        and order_days.channel = grain.channel
    left join refund_days
        on refund_days.date_reporting = grain.date_reporting
        and refund_days.market_code is not distinct from grain.market_code
        and refund_days.channel = grain.channel
    left join session_days
        on session_days.date_reporting = grain.date_reporting
        and session_days.market_code is not distinct from grain.market_code
        and session_days.channel = grain.channel
    left join spend_days
        on spend_days.date_reporting = grain.date_reporting
        and spend_days.market_code is not distinct from grain.market_code
        and spend_days.channel = grain.channel
)

select
    date_reporting,
    market_code,
    channel,
    orders,
    units,
    gmv_reporting,
    refunds_reporting,
    {{ metric('net_revenue') }} as net_revenue_reporting,
    {{ metric('aov') }} as aov_reporting,
    customers,
    new_customers,
    returning_customers,
    {{ metric('repeat_purchase_rate') }} as repeat_purchase_rate,
    refunded_orders,
    {{ metric('refund_rate') }} as refund_rate,
    sessions,
    converted_sessions,
    {{ metric('conversion_rate') }} as conversion_rate,
    ad_spend_reporting,
    other_costs_reporting,
    {{ metric('cpa') }} as cpa_reporting,
    {{ metric('roas') }} as roas,
    {{ metric('cac') }} as cac_reporting
from combined
