-- One row per refunded order (money returned to the buyer after a return, a parcel that never arrived or
-- a cancellation after payment), booked on the refund date at the refund date's FX rate.
with returns as (
    select * from {{ ref('returns') }}
    where is_refunded
),

sellers as (
    select seller_id, seller_timezone from {{ ref('stg_bronze__sellers') }}
),

credited as (
    select order_id, channel from {{ ref('int_orders__channel_credited') }}
)

select
    returns.order_id,
    returns.seller_id,
    returns.market_code,
    returns.customer_key,
    returns.currency_code,
    returns.order_date,
    returns.returned_at,
    returns.refunded_at,
    returns.refund_date,
    timezone('{{ var("reporting_timezone") }}', returns.refunded_at)::date as refund_date_reporting,
    timezone(sellers.seller_timezone, returns.refunded_at)::date as refund_date_seller,
    returns.refund_amount_original,
    returns.refund_amount_reporting,
    returns.refund_amount_home,
    returns.home_currency_code,
    returns.fx_to_reporting,
    returns.is_partial_refund,
    returns.reason,
    coalesce(credited.channel, 'direct') as channel
from returns
left join sellers using (seller_id)
left join credited using (order_id)
