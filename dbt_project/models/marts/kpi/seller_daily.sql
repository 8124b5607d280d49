-- One row per seller x day in the seller's time zone, every day from the seller's onboarding (or the
-- first day of data) to the last day of data: order KPIs by order date, refunds by refund date, money in
-- the reporting currency and in the seller's home currency, with the seller's main category (the
-- dashboards' category filter). Every KPI comes from the metric glossary.
with orders as (
    select * from {{ ref('fct_orders') }}
),

refunds as (
    select * from {{ ref('fct_returns') }}
),

sellers as (
    select seller_id, main_category, home_currency_code, onboarded_on from {{ ref('dim_seller') }}
),

order_days as (
    select
        seller_id,
        order_date_seller as date_seller,
        {{ metric('orders') }} as orders,
        {{ metric('units') }} as units,
        {{ metric('gmv') }} as gmv_reporting,
        {{ metric('gmv_home') }} as gmv_home,
        {{ metric('customers') }} as customers,
        {{ metric('new_customers') }} as new_customers,
        {{ metric('returning_customers') }} as returning_customers,
        {{ metric('refunded_orders') }} as refunded_orders
    from orders
    group by seller_id, order_date_seller
),

refund_days as (
    select
        seller_id,
        refund_date_seller as date_seller,
        {{ metric('refunds') }} as refunds_reporting,
        {{ metric('refunds_home') }} as refunds_home
    from refunds
    group by seller_id, refund_date_seller
),

activity as (
    select seller_id, date_seller from order_days
    union
    select seller_id, date_seller from refund_days
),

bounds as (
    select min(date_seller) as first_day, max(date_seller) as last_day from activity
),

seller_starts as (
    select
        sellers.seller_id,
        least(
            greatest(coalesce(sellers.onboarded_on, bounds.first_day), bounds.first_day),
            coalesce(min(activity.date_seller), bounds.last_day)
        ) as first_day,
        bounds.last_day
    from sellers
    cross join bounds
    left join activity using (seller_id)
    group by sellers.seller_id, sellers.onboarded_on, bounds.first_day, bounds.last_day
),

spine as (
    select
        seller_id,
        unnest(generate_series(first_day::timestamp, last_day::timestamp, interval 1 day))::date as date_seller
    from seller_starts
),

combined as (
    select
        spine.seller_id,
        spine.date_seller,
        sellers.main_category,
        sellers.home_currency_code,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.units, 0)::bigint as units,
        coalesce(order_days.gmv_reporting, 0) as gmv_reporting,
        coalesce(order_days.gmv_home, 0) as gmv_home,
        coalesce(refund_days.refunds_reporting, 0) as refunds_reporting,
        coalesce(refund_days.refunds_home, 0) as refunds_home,
        coalesce(order_days.customers, 0) as customers,
        coalesce(order_days.new_customers, 0) as new_customers,
        coalesce(order_days.returning_customers, 0) as returning_customers,
        coalesce(order_days.refunded_orders, 0) as refunded_orders
    from spine
    inner join sellers using (seller_id)
    left join order_days using (seller_id, date_seller)
    left join refund_days using (seller_id, date_seller)
)

select
    seller_id,
    date_seller,
    main_category,
    home_currency_code,
    orders,
    units,
    gmv_reporting,
    gmv_home,
    refunds_reporting,
    refunds_home,
    {{ metric('net_revenue') }} as net_revenue_reporting,
    {{ metric('net_revenue_home') }} as net_revenue_home,
    {{ metric('aov') }} as aov_reporting,
    customers,
    new_customers,
    returning_customers,
    {{ metric('repeat_purchase_rate') }} as repeat_purchase_rate,
    refunded_orders,
    {{ metric('refund_rate') }} as refund_rate
from combined
