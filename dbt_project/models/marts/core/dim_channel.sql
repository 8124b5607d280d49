-- One row per marketing channel of the session classification rule (simulator/FORMATS.md): whether it is
-- paid media, its ad platform, the utm tags that identify it and where its costs come from.
with channels (channel, channel_name, channel_group, is_paid, ad_platform, utm_source, utm_medium, cost_source, sort_order) as (
    values
        ('google_search', 'Google Search', 'paid_search', true, 'google_ads', 'google', 'cpc', 'ad_spend', 1),
        ('google_shopping', 'Google Shopping', 'paid_search', true, 'google_ads', 'google', 'shopping', 'ad_spend', 2),
        ('meta', 'Meta (Facebook, Instagram)', 'paid_social', true, 'meta', 'facebook', 'paid_social', 'ad_spend', 3),
        ('tiktok', 'TikTok', 'paid_social', true, 'tiktok', 'tiktok', 'paid_social', 'ad_spend', 4),
        ('marketplace_ads', 'Marketplace sponsored products', 'marketplace', true, 'marketplace_ads', 'marketplace', 'sponsored_products', 'ad_spend', 5),
        ('email', 'Email', 'owned', false, null, 'newsletter', 'email', 'marketing_costs', 6),
        ('affiliate', 'Affiliate', 'partner', false, null, null, 'affiliate', 'marketing_costs', 7),
        ('organic_search', 'Organic search', 'organic', false, null, null, null, null, 8),
        ('referral', 'Referral', 'organic', false, null, null, null, null, 9),
        ('direct', 'Direct', 'direct', false, null, null, null, null, 10)
)

select
    channel,
    channel_name,
    channel_group,
    is_paid,
    ad_platform,
    utm_source,
    utm_medium,
    cost_source,
    sort_order
from channels
