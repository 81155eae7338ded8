//! The address of a post, normalised so the same post always has the same key — however
//! it was shared. Monitors paste what their tools give them: the mobile page, a link
//! with tracking parameters, `http` for `https`, a share link of a platform's app. Each
//! of those would otherwise open a second case for the same post.
//!
//! Every address: parsed by the `url` crate (WHATWG rules: host lowercased and
//! IDNA-encoded, default port dropped, `.`/`..` segments resolved, percent-encoding
//! made uniform), credentials and fragment dropped, `http` taken as `https`, the
//! trailing slash of a path dropped. Then either a platform's rule (below) gives the
//! post's canonical address, or the generic rule applies: a leading `www.`, `m.`,
//! `wap.` or `mobile.` is dropped from the host, tracking parameters (`utm_*`, `spm`,
//! `from`, `share_*`, `scene` …) are removed and the others sorted.
//!
//! Platforms (the forms their share buttons and mobile pages produce):
//! - 微博: `m.weibo.cn/status/ID`, `m.weibo.cn/detail/ID`, `weibo.com/detail/ID` →
//!   `https://m.weibo.cn/detail/ID`; `weibo.com/UID/BID` → `https://weibo.com/UID/BID`.
//! - 微信公众号文章: `mp.weixin.qq.com/s/ID` without its query; `mp.weixin.qq.com/s?…`
//!   keeps only `__biz`, `mid`, `idx` and `sn`, the parameters that name the article.
//! - 抖音: `…/video/ID` on `douyin.com`, `m.douyin.com`, `iesdouyin.com` (share pages) →
//!   `https://www.douyin.com/video/ID`; notes likewise under `/note/ID`.
//! - 快手: `kuaishou.com/short-video/ID`, `…/fw/photo/ID` (`c.kuaishou.com`,
//!   `m.gifshow.com`, `v.m.chenzhongtech.com`) → `https://www.kuaishou.com/short-video/ID`.
//! - 今日头条: `toutiao.com/article/ID`, `/aID`, `/iID`, `/group/ID` (any host of
//!   toutiao.com) → `https://www.toutiao.com/article/ID`; 微头条 `/w/ID` likewise.
//!
//! Short links (`v.douyin.com/CODE`, `v.kuaishou.com/CODE`, `m.toutiao.com/is/CODE`,
//! `t.cn/CODE`) name a redirect, not the post; resolving them needs the platform's
//! server, so they are kept as they are, without their query.
//!
//! Events keep the address as it was recorded: a post recorded before a rule existed is
//! found by its normalised form ([`PostUrl::names_same_post`]), never rewritten.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::ParseError;
use crate::text::{TextKind, normalize};

/// The address of a post, normalised so that the same post always has the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PostUrl(String);

/// The longest address accepted, in bytes.
const MAX_URL_BYTES: usize = 2048;

/// Query parameters that say who shared a link and how, never which post it is.
const TRACKING_PARAMETERS: &[&str] = &[
    "spm",
    "from",
    "scene",
    "srcid",
    "clicktime",
    "enterid",
    "wxfrom",
    "isappinstalled",
    "tt_from",
    "wfr",
    "vd_source",
    "fbclid",
    "gclid",
    "sharer_sharetime",
    "sharer_shareid",
    "sharer_shareinfo",
    "sharer_shareinfo_first",
    "timestamp",
    "app",
    "u_code",
    "did",
    "iid",
    "mid_share",
];

/// Query parameter prefixes of the same kind.
const TRACKING_PREFIXES: &[&str] = &["utm_", "share_"];

/// Host labels of mobile and `www` variants of a site.
const VARIANT_LABELS: &[&str] = &["www", "m", "wap", "mobile"];

impl PostUrl {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = &normalize("url", raw, TextKind::Name)?;
        let refuse = |why: &str| ParseError::new("url", format!("`{raw}` {why}"));
        if trimmed.len() > MAX_URL_BYTES {
            return Err(refuse("is longer than 2048 characters"));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refuse("contains spaces or control characters"));
        }
        let scheme = trimmed
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
            .ok_or_else(|| refuse("is not an http(s) address"))?;
        if scheme != "http" && scheme != "https" {
            return Err(refuse("is not an http(s) address"));
        }
        if trimmed[scheme.len() + 3..].starts_with('/') {
            return Err(refuse("has no host"));
        }
        let mut url = Url::parse(trimmed).map_err(|error| match error {
            url::ParseError::EmptyHost => refuse("has no host"),
            other => refuse(&format!("is not a valid address ({other})")),
        })?;
        let host = url
            .host_str()
            .filter(|host| !host.is_empty() && !host.starts_with('.') && !host.contains(".."))
            .ok_or_else(|| refuse("has no host"))?
            .to_owned();
        url.set_fragment(None);
        // Only fails for schemes `url` treats specially differently; both are special.
        url.set_scheme("https")
            .map_err(|()| refuse("is not an http(s) address"))?;
        url.set_username("")
            .and_then(|()| url.set_password(None))
            .map_err(|()| refuse("has no host"))?;
        let path = url.path().trim_end_matches('/').to_owned();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let canonical = platform_address(&host, &segments, &url)
            .unwrap_or_else(|| generic_address(&host, &path, &url));
        if canonical.len() > MAX_URL_BYTES {
            return Err(refuse("is longer than 2048 characters"));
        }
        Ok(Self(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this address, as recorded (perhaps before today's rules), names the post
    /// `normalised` names: recorded addresses are compared by their normalised form.
    pub fn names_same_post(&self, normalised: &PostUrl) -> bool {
        self == normalised || PostUrl::parse(&self.0).is_ok_and(|mine| &mine == normalised)
    }
}

impl std::fmt::Display for PostUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `host` is `domain` or one of its subdomains.
fn within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// A post's identifier in a path: letters, digits, `_` and `-` only.
fn identifier(segment: &str) -> Option<&str> {
    (!segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then_some(segment)
}

/// The digits after `prefix` in a segment (`a123` → `123`).
fn digits_after<'a>(segment: &'a str, prefix: &str) -> Option<&'a str> {
    segment
        .strip_prefix(prefix)
        .filter(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
}

/// The canonical address of a post on a platform with a rule, if `host` and the path's
/// `segments` are one of its forms.
fn platform_address(host: &str, segments: &[&str], url: &Url) -> Option<String> {
    let short_link = |base: &str| {
        segments
            .first()
            .and_then(|code| identifier(code))
            .map(|code| format!("https://{base}/{code}"))
    };
    if within(host, "weibo.com") || within(host, "weibo.cn") {
        return match segments {
            ["status" | "detail", id] => {
                identifier(id).map(|id| format!("https://m.weibo.cn/detail/{id}"))
            }
            [uid, bid] if within(host, "weibo.com") => Some(format!(
                "https://weibo.com/{}/{}",
                identifier(uid)?,
                identifier(bid)?
            )),
            _ => None,
        };
    }
    if host == "t.cn" {
        return short_link("t.cn");
    }
    if host == "mp.weixin.qq.com" {
        return match segments {
            ["s", id] => identifier(id).map(|id| format!("https://mp.weixin.qq.com/s/{id}")),
            ["s"] => {
                let wanted = ["__biz", "mid", "idx", "sn"];
                let kept: Vec<String> = wanted
                    .iter()
                    .filter_map(|name| {
                        url.query_pairs()
                            .find(|(key, _)| key == name)
                            .map(|(key, value)| format!("{key}={}", encode(&value)))
                    })
                    .collect();
                (!kept.is_empty()).then(|| format!("https://mp.weixin.qq.com/s?{}", kept.join("&")))
            }
            _ => None,
        };
    }
    if host == "v.douyin.com" {
        return short_link("v.douyin.com");
    }
    if within(host, "douyin.com") || within(host, "iesdouyin.com") {
        return match segments {
            [.., "video", id] => {
                identifier(id).map(|id| format!("https://www.douyin.com/video/{id}"))
            }
            [.., "note", id] => {
                identifier(id).map(|id| format!("https://www.douyin.com/note/{id}"))
            }
            _ => None,
        };
    }
    if host == "v.kuaishou.com" {
        return short_link("v.kuaishou.com");
    }
    if within(host, "kuaishou.com")
        || within(host, "gifshow.com")
        || within(host, "chenzhongtech.com")
    {
        return match segments {
            ["short-video", id] | ["fw", "photo", id] => {
                identifier(id).map(|id| format!("https://www.kuaishou.com/short-video/{id}"))
            }
            _ => None,
        };
    }
    if within(host, "toutiao.com") {
        return match segments {
            ["is", code] => identifier(code).map(|code| format!("https://m.toutiao.com/is/{code}")),
            ["article" | "group", id] => {
                digits_after(id, "").map(|id| format!("https://www.toutiao.com/article/{id}"))
            }
            ["w", id] => digits_after(id, "").map(|id| format!("https://www.toutiao.com/w/{id}")),
            [one] => digits_after(one, "a")
                .or_else(|| digits_after(one, "i"))
                .map(|id| format!("https://www.toutiao.com/article/{id}")),
            _ => None,
        };
    }
    None
}

/// The generic rule: the host without its `www.`/mobile label, the path, and the query
/// without tracking parameters, sorted.
fn generic_address(host: &str, path: &str, url: &Url) -> String {
    let host = match host.split_once('.') {
        Some((label, rest)) if VARIANT_LABELS.contains(&label) && rest.contains('.') => rest,
        _ => host,
    };
    let port = url
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| {
            let key = key.to_ascii_lowercase();
            !TRACKING_PARAMETERS.contains(&key.as_str())
                && !TRACKING_PREFIXES
                    .iter()
                    .any(|prefix| key.starts_with(prefix))
        })
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    pairs.sort();
    let query = if pairs.is_empty() {
        String::new()
    } else {
        let joined: Vec<String> = pairs
            .iter()
            .map(|(key, value)| {
                if value.is_empty() {
                    encode(key)
                } else {
                    format!("{}={}", encode(key), encode(value))
                }
            })
            .collect();
        format!("?{}", joined.join("&"))
    };
    format!("https://{host}{port}{path}{query}")
}

/// A query key or value percent-encoded the one way (`application/x-www-form-urlencoded`).
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(raw: &str) -> String {
        PostUrl::parse(raw)
            .unwrap_or_else(|e| panic!("{raw}: {e}"))
            .as_str()
            .to_owned()
    }

    /// Each group: the forms one post is shared in, and its one key.
    #[test]
    fn the_forms_a_post_is_shared_in_have_one_key() {
        let groups: &[(&str, &[&str])] = &[
            (
                "https://m.weibo.cn/detail/5012345678901234",
                &[
                    "https://m.weibo.cn/status/5012345678901234?from=singlemessage&isappinstalled=0",
                    "http://m.weibo.cn/detail/5012345678901234/",
                    "https://weibo.com/detail/5012345678901234#comment",
                    "HTTPS://M.WEIBO.CN/status/5012345678901234",
                ],
            ),
            (
                "https://weibo.com/1234567890/NaBcDeFgH",
                &[
                    "https://www.weibo.com/1234567890/NaBcDeFgH?type=comment",
                    "http://weibo.com/1234567890/NaBcDeFgH/",
                ],
            ),
            (
                "https://mp.weixin.qq.com/s?__biz=MzA5NjM0MzIyMA%3D%3D&mid=2651234567&idx=1&sn=abcdef0123",
                &[
                    "https://mp.weixin.qq.com/s?__biz=MzA5NjM0MzIyMA==&mid=2651234567&idx=1&sn=abcdef0123&chksm=8b0e&scene=21#wechat_redirect",
                    "http://mp.weixin.qq.com/s?sn=abcdef0123&idx=1&mid=2651234567&__biz=MzA5NjM0MzIyMA%3D%3D",
                ],
            ),
            (
                "https://mp.weixin.qq.com/s/AbC-dEf_123",
                &["https://mp.weixin.qq.com/s/AbC-dEf_123?scene=1&clicktime=1700000000"],
            ),
            (
                "https://www.douyin.com/video/7301234567890123456",
                &[
                    "https://www.iesdouyin.com/share/video/7301234567890123456/?region=CN&mid=7301&u_code=abc",
                    "https://m.douyin.com/share/video/7301234567890123456",
                    "https://douyin.com/video/7301234567890123456?previous_page=app_code_link",
                ],
            ),
            (
                "https://www.kuaishou.com/short-video/3xabcdef12345",
                &[
                    "https://c.kuaishou.com/fw/photo/3xabcdef12345?fid=1&cc=share_copylink",
                    "https://m.gifshow.com/fw/photo/3xabcdef12345",
                    "https://v.m.chenzhongtech.com/fw/photo/3xabcdef12345?userId=3x",
                    "http://www.kuaishou.com/short-video/3xabcdef12345/",
                ],
            ),
            (
                "https://www.toutiao.com/article/7301234567890123456",
                &[
                    "https://www.toutiao.com/a7301234567890123456/",
                    "https://m.toutiao.com/i7301234567890123456/?tt_from=weixin&utm_campaign=client_share",
                    "https://www.toutiao.com/group/7301234567890123456/",
                    "https://toutiao.com/article/7301234567890123456?log_from=abc",
                ],
            ),
            (
                "https://bbs.example.cn/thread/88?page=2&tid=88",
                &[
                    "http://bbs.example.cn/thread/88/?tid=88&page=2&utm_source=wx&spm=a.b.c",
                    "https://www.bbs.example.cn/thread/88?page=2&tid=88&share_token=x",
                    "https://m.bbs.example.cn/thread/88?tid=88&page=2#top",
                ],
            ),
        ];
        for (key, forms) in groups {
            assert_eq!(&normalised(key), key, "a key normalises to itself");
            for form in *forms {
                assert_eq!(&normalised(form), key, "{form}");
            }
        }
    }

    #[test]
    fn different_posts_keep_different_keys() {
        let distinct = [
            "https://weibo.com/1234567890/NaBcDeFgH",
            "https://weibo.com/1234567890/NaBcDeFgI",
            "https://m.weibo.cn/detail/5012345678901234",
            "https://www.douyin.com/video/7301234567890123456",
            "https://www.douyin.com/note/7301234567890123456",
            "https://bbs.example.cn/thread/88?page=2",
            "https://bbs.example.cn/thread/88?page=3",
            "https://bbs.example.cn:8443/thread/88",
            "https://v.douyin.com/iRNBho6u",
            "https://v.douyin.com/iRNBho6v",
        ];
        let keys: std::collections::BTreeSet<String> =
            distinct.iter().map(|raw| normalised(raw)).collect();
        assert_eq!(keys.len(), distinct.len(), "{keys:?}");
        // Short links are kept (their post is only known to the platform's server).
        assert_eq!(
            normalised("https://v.douyin.com/iRNBho6u/?utm_source=copy"),
            "https://v.douyin.com/iRNBho6u"
        );
        assert_eq!(normalised("http://t.cn/A6abcdE"), "https://t.cn/A6abcdE");
    }

    #[test]
    fn what_is_not_an_address_is_refused() {
        for bad in [
            "weibo.com/1",
            "ftp://x.cn/a",
            "https://",
            "https://a b.cn/",
            "https:///path",
            "javascript:alert(1)",
            "https://.example.cn/",
            "https://a..b/",
        ] {
            assert!(PostUrl::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.cn/{}", "a".repeat(2100));
        assert!(PostUrl::parse(&long).is_err());
    }

    #[test]
    fn a_post_recorded_before_the_rules_is_found_by_its_normalised_form() {
        // As an earlier version recorded it: only scheme and host lowercased.
        let recorded: PostUrl = serde_json::from_str("\"https://weibo.com/123/abc?x=1\"").unwrap();
        assert_eq!(recorded.as_str(), "https://weibo.com/123/abc?x=1");
        let asked = PostUrl::parse("http://www.weibo.com/123/abc/").unwrap();
        assert!(recorded.names_same_post(&asked));
        assert!(!recorded.names_same_post(&PostUrl::parse("https://weibo.com/123/abd").unwrap()));
    }
}
