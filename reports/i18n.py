"""Report languages: message templates (English, Chinese) and locale formatting of numbers, money and dates
(Babel). Sellers whose language has no templates yet (vi, tr) get English text with English formatting, and
their report says so once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}
FALLBACK = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title_week": "Weekly seller report",
        "title_month": "Monthly seller report",
        "title_day": "Daily seller report",
        "period": "{start} – {end}",
        "greeting": "Hello {name},",
        "summary": "Summary",
        "no_sales": "You had no sales in this period ({start} – {end}). Your listings stay live; the figures "
        "below show your traffic and stock.",
        "gmv_change_up": "GMV rose {pct} {vs} to {gmv}.",
        "gmv_change_down": "GMV fell {pct} {vs} to {gmv}.",
        "gmv_flat": "GMV was {gmv}, unchanged {vs}.",
        "gmv_no_previous": "GMV was {gmv} from {orders} orders.",
        "vs_week": "week on week",
        "vs_month": "month on month",
        "vs_day": "day on day",
        "driver": "The change came mostly from {what}.",
        "driver_channel_market": "{channel} traffic in {market}",
        "driver_factor_traffic": "more visitors",
        "driver_factor_traffic_down": "fewer visitors",
        "driver_factor_conversion": "a higher conversion rate",
        "driver_factor_conversion_down": "a lower conversion rate",
        "driver_factor_aov": "larger orders",
        "driver_factor_aov_down": "smaller orders",
        "orders_line": "{orders} orders, {units} units, average order value {aov}.",
        "conversion_line": "{sessions} sessions viewed your products; unit-session conversion was {conv}.",
        "refund_line": "Refund rate {refund_rate}; on-time delivery {on_time}.",
        "ads_line": "Ad spend {spend}, ROAS {roas}.",
        "yoy_line": "Compared with the same period last year, GMV is {pct}.",
        "health": "Health score: {score} / 100.",
        "kpis": "Key figures",
        "metric": "Metric",
        "value": "Value",
        "previous": "Previous period",
        "gmv": "GMV",
        "orders": "Orders",
        "units": "Units",
        "aov": "Average order value",
        "sessions": "Sessions",
        "conversion": "Unit-session conversion",
        "refund_rate": "Refund rate",
        "on_time": "On-time delivery",
        "ad_spend": "Ad spend",
        "roas": "ROAS",
        "top_skus": "Top SKUs",
        "bottom_skus": "SKUs with the lowest sales",
        "sku": "SKU",
        "product": "Product",
        "zero_skus": "{count} SKUs had no sales in this period (listed in the CSV with zero rows).",
        "benchmarks": "How you compare with peers",
        "benchmark_line": "{metric} in {market}: better than {pct} of the {size} sellers in your category.",
        "benchmarks_none": "Peer comparisons are shown only for category and market cohorts of at least 5 "
        "sellers; none of your markets has one this period.",
        "alerts": "Alerts",
        "alerts_none": "No alerts this period.",
        "alert_traffic_drop": "Traffic dropped to {value} sessions (usual: {baseline}).",
        "alert_sales_drop": "Sales dropped to {value} (usual: {baseline}).",
        "alert_refund_spike": "Refund rate spiked to {value} (usual: {baseline}).",
        "alert_lane_delay": "Deliveries on lane {subject} are late more often: {value} late (usual: {baseline}).",
        "alert_stockout_risk": "SKU {subject} is at risk of running out of stock.",
        "recommendations": "Recommendations",
        "rec_restock_sku": "Restock {subject}: the forecast shows a stockout risk.",
        "rec_restock_stocked_out": "Restock {subject}: it was out of stock at the end of the period.",
        "rec_shift_budget": "Shift ad budget from {source} to {target}: ROAS {best} vs {worst} under the "
        "data-driven attribution model.",
        "rec_investigate_lane": "Investigate lane {subject}: its share of late deliveries rose to {value}.",
        "rec_review_refunds": "Review recent refunds: the refund rate rose to {value}.",
        "forecasts": "Forecasts",
        "forecasts_missing": "Forecasts are not available yet (the forecasting job has not produced "
        "gold/forecasts); this section will appear once it has.",
        "forecast_line": "Expected units for the next {days} days: {units}.",
        "stockout_missing": "Stockout-risk alerts need the forecasting job (gold/inventory_alerts), which has not "
        "run yet.",
        "chart_daily": "GMV per day",
        "chart_skus": "GMV by SKU",
        "attachments": "Attached: this report as PDF and a CSV of daily SKU metrics.",
        "plan_free": "Upgrade to Pro for peer benchmarks, forecasts and alerts.",
        "language_fallback": "This report is in English; your language is not supported yet.",
        "footer": "Figures in {currency}, dates in {timezone}. Generated from the published warehouse of {published}.",
        "subject": "{title}: {start} – {end}",
        "digest_title": "Executive weekly digest",
        "digest_headline": "Marketplace headline KPIs",
        "digest_movers": "Top movers (GMV change, reporting currency)",
        "digest_quality": "Data quality",
        "last_year": "Last year",
        "change": "Change",
        "seller": "Seller",
    },
    "zh": {
        "title_week": "卖家周报",
        "title_month": "卖家月报",
        "title_day": "卖家日报",
        "period": "{start} 至 {end}",
        "greeting": "{name}，您好：",
        "summary": "概要",
        "no_sales": "本期（{start} 至 {end}）您没有销售。您的商品仍在售；以下数据为您的流量和库存情况。",
        "gmv_change_up": "商品交易总额{vs}增长 {pct}，达到 {gmv}。",
        "gmv_change_down": "商品交易总额{vs}下降 {pct}，为 {gmv}。",
        "gmv_flat": "商品交易总额为 {gmv}，{vs}持平。",
        "gmv_no_previous": "商品交易总额为 {gmv}，共 {orders} 笔订单。",
        "vs_week": "环比上周",
        "vs_month": "环比上月",
        "vs_day": "环比前一天",
        "driver": "变化主要来自{what}。",
        "driver_channel_market": "{market}的{channel}流量",
        "driver_factor_traffic": "访客增加",
        "driver_factor_traffic_down": "访客减少",
        "driver_factor_conversion": "转化率提高",
        "driver_factor_conversion_down": "转化率下降",
        "driver_factor_aov": "客单价提高",
        "driver_factor_aov_down": "客单价下降",
        "orders_line": "订单 {orders} 笔，销量 {units} 件，平均客单价 {aov}。",
        "conversion_line": "共有 {sessions} 个会话浏览了您的商品；件数会话转化率为 {conv}。",
        "refund_line": "退款率 {refund_rate}；准时送达率 {on_time}。",
        "ads_line": "广告花费 {spend}，广告支出回报率 {roas}。",
        "yoy_line": "与去年同期相比，商品交易总额变化 {pct}。",
        "health": "店铺健康分：{score} / 100。",
        "kpis": "关键指标",
        "metric": "指标",
        "value": "数值",
        "previous": "上一期",
        "gmv": "商品交易总额",
        "orders": "订单数",
        "units": "销量",
        "aov": "平均客单价",
        "sessions": "会话数",
        "conversion": "件数会话转化率",
        "refund_rate": "退款率",
        "on_time": "准时送达率",
        "ad_spend": "广告花费",
        "roas": "广告支出回报率",
        "top_skus": "畅销商品",
        "bottom_skus": "销量最低的商品",
        "sku": "商品编码",
        "product": "商品",
        "zero_skus": "本期有 {count} 个商品没有销售（CSV 中以零值列出）。",
        "benchmarks": "与同行比较",
        "benchmark_line": "{market}的{metric}：优于同类目 {size} 位卖家中的 {pct}。",
        "benchmarks_none": "仅在同类目同市场至少有 5 位卖家时显示同行比较；本期您的市场均不满足条件。",
        "alerts": "预警",
        "alerts_none": "本期没有预警。",
        "alert_traffic_drop": "流量下降至 {value} 个会话（通常为 {baseline}）。",
        "alert_sales_drop": "销售额下降至 {value}（通常为 {baseline}）。",
        "alert_refund_spike": "退款率升至 {value}（通常为 {baseline}）。",
        "alert_lane_delay": "线路 {subject} 的延误增多：延误比例 {value}（通常为 {baseline}）。",
        "alert_stockout_risk": "商品 {subject} 有断货风险。",
        "recommendations": "建议",
        "rec_restock_sku": "请为 {subject} 补货：预测显示有断货风险。",
        "rec_restock_stocked_out": "请为 {subject} 补货：本期末已断货。",
        "rec_shift_budget": "建议将广告预算从 {source} 转向 {target}："
        "数据驱动归因模型下广告支出回报率为 {best} 对 {worst}。",
        "rec_investigate_lane": "请排查线路 {subject}：延误比例升至 {value}。",
        "rec_review_refunds": "请检查近期退款：退款率升至 {value}。",
        "forecasts": "预测",
        "forecasts_missing": "暂无预测（预测任务尚未生成 gold/forecasts）；生成后将显示本部分。",
        "forecast_line": "未来 {days} 天预计销量：{units} 件。",
        "stockout_missing": "断货风险预警需要预测任务（gold/inventory_alerts），该任务尚未运行。",
        "chart_daily": "每日商品交易总额",
        "chart_skus": "各商品交易总额",
        "attachments": "附件：本报告的 PDF 版本及每日商品指标 CSV。",
        "plan_free": "升级到专业版即可查看同行比较、预测和预警。",
        "language_fallback": "",
        "footer": "金额单位：{currency}；日期时区：{timezone}。数据来自 {published} 发布的数据仓库。",
        "subject": "{title}：{start} 至 {end}",
        "digest_title": "管理层周报",
        "digest_headline": "平台核心指标",
        "digest_movers": "变化最大的卖家",
        "digest_quality": "数据质量",
        "last_year": "去年同期",
        "change": "变化",
        "seller": "卖家",
    },
}
METRIC_NAMES = {
    "gmv": "gmv",
    "orders": "orders",
    "aov": "aov",
    "unit_session_conversion": "conversion",
    "refund_rate": "refund_rate",
}


@dataclass(frozen=True)
class Lang:
    """A report language: its messages and locale formatting."""

    code: str
    requested: str

    @classmethod
    def for_seller(cls, language: str | None) -> Lang:
        requested = (language or FALLBACK).split("-")[0].lower()
        return cls(requested if requested in MESSAGES else FALLBACK, requested)

    @property
    def locale(self) -> str:
        return LOCALES[self.code]

    @property
    def is_fallback(self) -> bool:
        return self.code != self.requested

    def t(self, key: str, **values: object) -> str:
        return MESSAGES[self.code][key].format(**values)

    def money(self, amount: float | None, currency: str) -> str:
        if amount is None:
            return "–"
        return format_currency(amount, currency, locale=self.locale)

    def number(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=fmt, locale=self.locale)

    def percent(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "–"
        return format_percent(value, format="#,##0." + "0" * digits + "%", locale=self.locale)

    def date(self, value: date) -> str:
        return format_date(value, format="medium", locale=self.locale)
