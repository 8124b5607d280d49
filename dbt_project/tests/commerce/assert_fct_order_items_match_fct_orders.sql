-- The incremental line fact agrees with the order fact: per order, line values sum to item_value in the
-- original and the reporting currency, and quantities to units (lines of every order, no orphans).
with items as (
    select
        order_id,
        sum(line_value_original) as line_value_original,
        sum(line_value_reporting) as line_value_reporting,
        sum(quantity) as quantity
    from {{ ref('fct_order_items') }}
    group by order_id
)

select orders.order_id, orders.item_value_original, items.line_value_original, orders.units, items.quantity
from {{ ref('fct_orders') }} as orders
full outer join items using (order_id)
where items.order_id is null
    or orders.order_id is null
    or abs(orders.item_value_original - items.line_value_original) > 0.005
    or abs(orders.item_value_reporting - items.line_value_reporting) > 1e-6 * greatest(1, abs(orders.item_value_reporting))
    or orders.units <> items.quantity
