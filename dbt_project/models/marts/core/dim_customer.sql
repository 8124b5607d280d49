-- One row per customer (hashed customer_key; no raw PII): first order (the first one not cancelled, as
-- in is_first_order), signup date, language and order counts.
with orders as (
    select * from {{ ref('int_orders__enriched') }}
    where customer_key is not null
),

first_orders as (
    select
        customer_key,
        order_id as first_order_id,
        order_created_at as first_order_at,
        order_date as first_order_date,
        market_code as first_order_market,
        seller_id as first_order_seller_id
    from orders
    where is_first_order
),

profile as (
    select
        customer_key,
        min(order_created_at) as first_seen_at,
        max(order_created_at) as last_order_at,
        min(buyer_signup_date) as signup_date,
        arg_max(buyer_language, order_created_at) as customer_language,
        count(*) filter (where not is_cancelled) as orders_count,
        count(*) filter (where is_cancelled) as cancelled_orders_count,
        count(distinct market_code) as markets_count,
        coalesce(sum(item_value_reporting) filter (where not is_cancelled), 0) as lifetime_gmv_reporting
    from orders
    group by customer_key
)

select
    profile.customer_key,
    first_orders.first_order_id,
    first_orders.first_order_at,
    first_orders.first_order_date,
    first_orders.first_order_market,
    first_orders.first_order_seller_id,
    profile.first_seen_at,
    profile.last_order_at,
    profile.signup_date,
    profile.customer_language,
    profile.orders_count,
    profile.cancelled_orders_count,
    profile.markets_count,
    profile.lifetime_gmv_reporting
from profile
left join first_orders using (customer_key)
