-- One row per order line (latest order version), in the order currency and the reporting currency at the
-- order date's rate. Incremental on the order's last update: a run upserts (on order_id, line_no) the lines
-- of every order updated in the lookback window, so an order delivered weeks after creation gets its new
-- status, and the result equals a full rebuild.
{{ config(incremental_column='order_updated_date', unique_key=['order_id', 'line_no']) }}

with lines as (
    select * from {{ ref('int_order_items__unnested') }}
),

orders as (
    select * from {{ ref('int_orders__enriched') }}
    {% if incremental_window_start() %} where order_updated_date >= {{ incremental_window_start() }} {% endif %}
)

select
    lines.order_id,
    lines.line_no,
    lines.sku,
    orders.seller_id,
    orders.market_code,
    orders.customer_key,
    orders.order_created_at,
    orders.order_date,
    orders.order_updated_date,
    lines.quantity,
    lines.unit_price as unit_price_original,
    lines.line_discount as line_discount_original,
    lines.line_value as line_value_original,
    orders.currency_code,
    lines.line_value * orders.fx_to_reporting as line_value_reporting,
    orders.fx_to_reporting,
    orders.order_status,
    orders.is_cancelled
from lines
inner join orders using (order_id)
