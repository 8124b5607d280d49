-- One row per returned or refunded order: return and refund times, the refund in the order currency, in
-- the reporting currency and in the seller's home currency at the refund date's rate, and the reason
-- read from the order's life cycle. Returned orders not refunded yet have no refund columns.
with orders as (
    select * from {{ ref('int_orders__enriched') }}
    where returned_at is not null or is_refunded
)

select
    order_id,
    seller_id,
    market_code,
    customer_key,
    order_created_at,
    order_date,
    order_status,
    returned_at,
    refunded_at,
    refund_date,
    case when is_refunded then refund_amount_original end as refund_amount_original,
    currency_code,
    case when is_refunded then refund_amount_reporting end as refund_amount_reporting,
    case when is_refunded then refund_amount_home end as refund_amount_home,
    home_currency_code,
    refund_fx_to_reporting as fx_to_reporting,
    is_refunded,
    is_refunded and refund_amount_original < order_total_original as is_partial_refund,
    case
        when returned_at is not null then 'returned'
        when cancelled_at is not null then 'cancelled_after_payment'
        when delivered_at is null then 'not_delivered'
        else 'refunded_after_delivery'
    end as reason
from orders
