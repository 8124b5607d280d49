-- One row per SKU (latest product snapshot listing it), with its seller and stocking.
select
    sku,
    seller_id,
    category,
    product_title,
    list_price_usd,
    unit_cost_usd,
    weight_kg,
    size_class,
    is_overseas_stocked
from {{ ref('stg_bronze__products') }}
