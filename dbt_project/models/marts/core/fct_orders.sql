-- One row per order (latest version): status flags, units, amounts in the order currency, the reporting
-- currency (order date's rate) and the seller's home currency, the refund (refund date's rate), life-cycle
-- times and the channel credited by last non-direct click.
with orders as (
    select * from {{ ref('int_orders__enriched') }}
),

credited as (
    select order_id, channel, campaign_id, credited_session_id
    from {{ ref('int_orders__channel_credited') }}
)

select
    orders.order_id,
    orders.order_version,
    orders.order_status,
    orders.customer_key,
    orders.seller_id,
    orders.market_code,
    orders.currency_code,
    orders.order_created_at,
    orders.order_date,
    orders.order_date_reporting,
    orders.order_date_seller,
    orders.is_cancelled,
    orders.is_refunded,
    orders.is_first_order,
    orders.units,
    orders.line_count,
    orders.subtotal_original,
    orders.discount_total_original,
    orders.item_value_original,
    orders.shipping_fee_original,
    orders.tax_original,
    orders.order_total_original,
    orders.item_value_reporting,
    orders.shipping_fee_reporting,
    orders.tax_reporting,
    orders.order_total_reporting,
    orders.item_value_home,
    orders.order_total_home,
    orders.home_currency_code,
    orders.refund_amount_original,
    orders.refund_amount_reporting,
    orders.refund_amount_home,
    orders.refunded_at,
    orders.refund_date,
    orders.fx_to_reporting,
    orders.fx_to_home,
    orders.payment_method,
    orders.payment_status,
    orders.service_level,
    orders.paid_at,
    orders.shipped_at,
    orders.delivered_at,
    orders.cancelled_at,
    orders.returned_at,
    coalesce(credited.channel, 'direct') as channel,
    credited.campaign_id,
    credited.credited_session_id
from orders
left join credited using (order_id)
