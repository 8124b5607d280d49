-- One row per seller x SKU x period (zero rows included) with the SKU's GMV rank in the seller's period from
-- the top (gmv_rank) and from the bottom (gmv_rank_from_bottom).
select
    seller_id, sku, sku_title, home_currency_code, period_type, period_start, period_end,
    units, orders, gmv_home, sessions, gmv_rank, gmv_rank_from_bottom
from {{ source('gold', 'seller_sku_periods') }}
