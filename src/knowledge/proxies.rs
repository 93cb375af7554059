//! Reverse proxies and load balancers that sit in front of WebSocket
//! servers: how their answers name them, and the setting that drops a
//! WebSocket that is idle for too long, with its default where the
//! vendor documents one. Each entry says where that is documented.

/// One proxy or load balancer.
#[derive(Clone, Copy, Debug)]
pub struct Proxy {
    /// How a `Server` header names it (matched case-insensitively, as a
    /// substring: `nginx/1.22.1`, `envoy`, `awselb/2.0`).
    pub server_token: &'static str,
    /// Its name in advice.
    pub name: &'static str,
    /// The setting that closes an idle proxied WebSocket, if one is known.
    pub idle_setting: Option<&'static str>,
    /// That setting's default, in seconds, when the vendor documents it.
    pub idle_default_s: Option<u32>,
    /// Where the setting and its default are documented.
    pub source: &'static str,
}

/// Proxies that answer WebSocket upgrades in their own name; those with
/// an idle setting first, in the order advice lists them.
pub static PROXIES: &[Proxy] = &[
    Proxy {
        server_token: "nginx",
        name: "nginx",
        idle_setting: Some("proxy_read_timeout"),
        idle_default_s: Some(60),
        source: "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_read_timeout",
    },
    Proxy {
        server_token: "haproxy",
        name: "HAProxy",
        idle_setting: Some("timeout tunnel"),
        idle_default_s: None,
        source: "https://docs.haproxy.org/2.8/configuration.html#4.2-timeout%20tunnel",
    },
    Proxy {
        server_token: "envoy",
        name: "Envoy",
        idle_setting: Some("idle_timeout"),
        idle_default_s: None,
        source: "https://www.envoyproxy.io/docs/envoy/latest/faq/configuration/timeouts",
    },
    Proxy {
        server_token: "awselb",
        name: "AWS ALB",
        idle_setting: Some("idle timeout"),
        idle_default_s: Some(60),
        source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout",
    },
    Proxy {
        server_token: "traefik",
        name: "Traefik",
        idle_setting: None,
        idle_default_s: None,
        source: "https://doc.traefik.io/traefik/",
    },
    Proxy {
        server_token: "caddy",
        name: "Caddy",
        idle_setting: None,
        idle_default_s: None,
        source: "https://caddyserver.com/docs/caddyfile/directives/reverse_proxy",
    },
    Proxy {
        server_token: "apache",
        name: "Apache httpd",
        idle_setting: None,
        idle_default_s: None,
        source: "https://httpd.apache.org/docs/2.4/mod/mod_proxy_wstunnel.html",
    },
    Proxy {
        server_token: "cloudflare",
        name: "Cloudflare",
        idle_setting: None,
        idle_default_s: None,
        source: "https://developers.cloudflare.com/network/websockets/",
    },
    Proxy {
        server_token: "istio",
        name: "Istio",
        idle_setting: None,
        idle_default_s: None,
        source: "https://istio.io/latest/docs/reference/config/networking/destination-rule/",
    },
    Proxy {
        server_token: "openresty",
        name: "OpenResty",
        idle_setting: None,
        idle_default_s: None,
        source: "https://openresty.org/",
    },
    Proxy {
        server_token: "varnish",
        name: "Varnish",
        idle_setting: None,
        idle_default_s: None,
        source: "https://varnish-cache.org/docs/",
    },
    Proxy {
        server_token: "squid",
        name: "Squid",
        idle_setting: None,
        idle_default_s: None,
        source: "http://www.squid-cache.org/Doc/config/",
    },
    Proxy {
        server_token: "kong",
        name: "Kong",
        idle_setting: None,
        idle_default_s: None,
        source: "https://docs.konghq.com/gateway/latest/",
    },
    Proxy {
        server_token: "tengine",
        name: "Tengine",
        idle_setting: None,
        idle_default_s: None,
        source: "https://tengine.taobao.org/",
    },
];

/// The known proxy a `Server` header names, if any.
pub fn named_in_server(server: &str) -> Option<&'static Proxy> {
    let lower = server.to_ascii_lowercase();
    PROXIES.iter().find(|p| lower.contains(p.server_token))
}

/// What a proxy's idle timeout means and where to change it: each known
/// idle setting (with its default), then what to do.
pub fn idle_timeout_advice() -> String {
    let settings: Vec<String> = PROXIES
        .iter()
        .filter_map(|p| {
            let setting = p.idle_setting?;
            Some(match p.idle_default_s {
                Some(s) => format!("{}: {setting}, default {s} s", p.name),
                None => format!("{}: {setting}", p.name),
            })
        })
        .collect();
    format!(
        "that is a proxy's idle timeout, the likely cause ({}). Send WebSocket pings from the application more often than that timeout, or raise the timeout for WebSocket routes.",
        settings.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_name_their_proxy_in_any_case() {
        assert_eq!(
            named_in_server("nginx/1.22.1").map(|p| p.name),
            Some("nginx")
        );
        assert_eq!(
            named_in_server("AWSELB/2.0").map(|p| p.name),
            Some("AWS ALB")
        );
        assert!(named_in_server("Python/3.11 websockets/12.0").is_none());
    }

    #[test]
    fn the_sixty_second_note_names_the_proxies_whose_default_is_sixty() {
        for p in PROXIES.iter().filter(|p| p.idle_default_s == Some(60)) {
            let setting = p.idle_setting.unwrap();
            assert!(
                idle_timeout_advice().contains(&format!("{}: {setting}, default 60 s", p.name)),
                "{}",
                p.name
            );
        }
    }
}
