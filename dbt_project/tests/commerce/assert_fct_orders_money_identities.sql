-- In the order currency: order total = subtotal - discount_total + shipping_fee + tax, item value =
-- subtotal - discount_total = the sum of the order's line values (quantity x unit price - line
-- discount), and units = the sum of line quantities. Half a minor unit of tolerance for rounding.
with lines as (
    select order_id, sum(line_value) as line_value, sum(quantity) as quantity
    from {{ ref('int_order_items__unnested') }}
    group by order_id
)

select
    orders.order_id,
    orders.order_total_original,
    orders.subtotal_original - orders.discount_total_original + orders.shipping_fee_original
        + orders.tax_original as recomputed_total,
    orders.item_value_original,
    lines.line_value,
    orders.units,
    lines.quantity
from {{ ref('fct_orders') }} as orders
left join lines using (order_id)
where abs(
        orders.order_total_original
        - (orders.subtotal_original - orders.discount_total_original + orders.shipping_fee_original + orders.tax_original)
    ) > 0.005
    or abs(orders.item_value_original - (orders.subtotal_original - orders.discount_total_original)) > 0.005
    or lines.line_value is null
    or abs(orders.item_value_original - lines.line_value) > 0.005
    or orders.units <> lines.quantity
