-- One row per order line of each order's latest version: the items JSON parsed once (from_json with a
-- fixed schema, then unnest), amounts in the order currency. line_discount is the line's total discount.
{{ config(materialized='table') }}

with orders as (
    select order_id, items_json from {{ ref('stg_bronze__orders') }}
),

unnested as (
    select
        order_id,
        unnest(from_json(
            items_json,
            '[{"line_no": "INTEGER", "sku": "VARCHAR", "qty": "INTEGER", "unit_price": "DECIMAL(18, 4)", "discount": "DECIMAL(18, 4)"}]'
        )) as item
    from orders
),

lines as (
    select
        order_id,
        item.line_no,
        item.sku,
        item.qty as quantity,
        item.unit_price,
        coalesce(item.discount, 0)::decimal(18, 4) as line_discount
    from unnested
)

select
    order_id,
    line_no,
    sku,
    quantity,
    unit_price,
    line_discount,
    (quantity * unit_price - line_discount)::decimal(18, 4) as line_value
from lines
