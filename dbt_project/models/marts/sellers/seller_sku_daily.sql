-- One row per seller x SKU x seller-local day, every SKU of the seller on every day of the data (zero rows
-- included): units, orders, GMV in home currency and sessions that viewed the SKU. The report's CSV export.
select seller_id, sku, sku_title, date_seller, home_currency_code, units, orders, gmv_home, sessions
from {{ source('gold', 'seller_sku_daily') }}
