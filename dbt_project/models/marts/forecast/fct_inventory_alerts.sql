-- One row per SKU x warehouse with an inventory alert (stockout risk, overstock, slow mover) and its
-- suggested order or transfer quantity, with the plan's stock, demand and lead-time figures, and the SKU's seller
-- and category.
select
    alerts.sku,
    alerts.warehouse_code,
    plan.as_of_date,
    alerts.alert,
    alerts.severity,
    alerts.suggested_action,
    alerts.suggested_qty,
    alerts.reason,
    plan.qty_available,
    plan.qty_inbound,
    plan.mean_daily_demand,
    plan.days_of_cover,
    plan.projected_stockout_date,
    plan.lead_time_days,
    plan.safety_stock,
    plan.reorder_point,
    products.seller_id,
    products.category
from {{ source('gold', 'inventory_alerts') }} as alerts
inner join {{ source('gold', 'inventory_plan') }} as plan using (sku, warehouse_code)
left join {{ ref('dim_product') }} as products using (sku)
