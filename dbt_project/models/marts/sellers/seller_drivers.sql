-- One row per seller x period x dimension x key: the change of GMV (home currency) vs the previous period.
-- dimension 'factor' splits the change into traffic, conversion and aov (they add up to the total change);
-- 'channel', 'market', 'channel_market' ('channel|market') and 'sku' keep the 10 largest changes.
select
    seller_id, period_type, period_start, dimension, key, gmv_home, gmv_home_previous, change_home, share_of_change
from {{ source('gold', 'seller_drivers') }}
