-- One row per order (latest version): units, FX rates of the order date and of the refund date, amounts in
-- the reporting currency and the seller's home currency, UTC / reporting / seller-local dates and the
-- customer's first-order flag. The shared base of fct_orders, the silver order lines and returns, and
-- dim_customer. FX dates are UTC dates of the event (order creation, first refund).
{{ config(materialized='table') }}

with orders as (
    select * from {{ ref('stg_bronze__orders') }}
),

items as (
    select order_id, sum(quantity)::bigint as units, count(*) as line_count
    from {{ ref('int_order_items__unnested') }}
    group by order_id
),

sellers as (
    select seller_id, home_currency_code, seller_timezone from {{ ref('stg_bronze__sellers') }}
),

fx as (
    select rate_date, currency_code, to_reporting from {{ ref('int_fx_rates__daily') }}
),

dated as (
    select
        orders.*,
        sellers.home_currency_code,
        sellers.seller_timezone,
        coalesce(items.units, 0) as units,
        coalesce(items.line_count, 0) as line_count,
        timezone('UTC', orders.order_created_at)::date as order_date,
        timezone('{{ var("reporting_timezone") }}', orders.order_created_at)::date as order_date_reporting,
        timezone(sellers.seller_timezone, orders.order_created_at)::date as order_date_seller,
        timezone('UTC', orders.refunded_at)::date as refund_date,
        timezone('{{ var("reporting_timezone") }}', orders.refunded_at)::date as refund_date_reporting,
        timezone(sellers.seller_timezone, orders.refunded_at)::date as refund_date_seller,
        orders.order_status = 'cancelled' as is_cancelled,
        coalesce(orders.refund_amount, 0) > 0 as is_refunded
    from orders
    left join items using (order_id)
    left join sellers using (seller_id)
),

rated as (
    select
        dated.*,
        order_fx.to_reporting as fx_to_reporting,
        order_fx.to_reporting / home_fx.to_reporting as fx_to_home,
        refund_fx.to_reporting as refund_fx_to_reporting,
        refund_fx.to_reporting / refund_home_fx.to_reporting as refund_fx_to_home
    from dated
    left join fx as order_fx
        on order_fx.currency_code = dated.currency_code and order_fx.rate_date = dated.order_date
    left join fx as home_fx
        on home_fx.currency_code = dated.home_currency_code and home_fx.rate_date = dated.order_date
    left join fx as refund_fx
        on refund_fx.currency_code = dated.currency_code and refund_fx.rate_date = dated.refund_date
    left join fx as refund_home_fx
        on refund_home_fx.currency_code = dated.home_currency_code and refund_home_fx.rate_date = dated.refund_date
),

final as (
    select
        order_id,
        order_version,
        order_status,
        customer_key,
        seller_id,
        market_code,
        currency_code,
        home_currency_code,
        seller_timezone,
        buyer_language,
        buyer_signup_date,
        order_created_at,
        order_date,
        order_date_reporting,
        order_date_seller,
        is_cancelled,
        is_refunded,
        -- ordering non-cancelled orders first: a customer whose orders were all cancelled has no first order
        customer_key is not null and not is_cancelled and row_number() over (
            partition by customer_key order by is_cancelled, order_created_at, order_id
        ) = 1 as is_first_order,
        units,
        line_count,
        subtotal as subtotal_original,
        discount_total as discount_total_original,
        (subtotal - discount_total)::decimal(18, 4) as item_value_original,
        shipping_fee as shipping_fee_original,
        tax as tax_original,
        order_total as order_total_original,
        fx_to_reporting,
        fx_to_home,
        (subtotal - discount_total) * fx_to_reporting as item_value_reporting,
        shipping_fee * fx_to_reporting as shipping_fee_reporting,
        tax * fx_to_reporting as tax_reporting,
        order_total * fx_to_reporting as order_total_reporting,
        (subtotal - discount_total) * fx_to_home as item_value_home,
        order_total * fx_to_home as order_total_home,
        coalesce(refund_amount, 0)::decimal(18, 4) as refund_amount_original,
        case when is_refunded then refund_amount * refund_fx_to_reporting else 0 end as refund_amount_reporting,
        case when is_refunded then refund_amount * refund_fx_to_home else 0 end as refund_amount_home,
        refund_fx_to_reporting,
        refund_fx_to_home,
        refunded_at,
        refund_date,
        refund_date_reporting,
        refund_date_seller,
        payment_method,
        payment_status,
        service_level,
        paid_at,
        shipped_at,
        delivered_at,
        cancelled_at,
        returned_at,
        order_updated_at,
        timezone('UTC', order_updated_at)::date as order_updated_date
    from rated
)

select * from final
