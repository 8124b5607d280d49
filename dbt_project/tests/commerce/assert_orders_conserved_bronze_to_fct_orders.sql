-- Every distinct bronze order_id appears exactly once in stg_bronze__orders and once in fct_orders, and
-- nothing else does. Returns the offending order ids with their counts per layer.
with bronze as (
    select order_id, 1 as n from {{ source('bronze', 'orders') }} group by order_id
),

staged as (
    select order_id, count(*) as n from {{ ref('stg_bronze__orders') }} group by order_id
),

facts as (
    select order_id, count(*) as n from {{ ref('fct_orders') }} group by order_id
)

select
    coalesce(bronze.order_id, staged.order_id, facts.order_id) as order_id,
    coalesce(bronze.n, 0) as in_bronze,
    coalesce(staged.n, 0) as in_staging,
    coalesce(facts.n, 0) as in_fct_orders
from bronze
full outer join staged on staged.order_id = bronze.order_id
full outer join facts on facts.order_id = coalesce(bronze.order_id, staged.order_id)
where coalesce(bronze.n, 0) <> 1 or coalesce(staged.n, 0) <> 1 or coalesce(facts.n, 0) <> 1
