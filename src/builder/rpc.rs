//! Function calls (`client.rpc`). Filters and modifiers come from the shared implementations.

#[cfg(test)]
mod tests {
    use crate::Client;

    #[test]
    fn rpc_posts_args_to_rpc_path() {
        let client = Client::new("http://localhost:54321", "anon-key").unwrap();
        let req = client
            .rpc("list_grants", &serde_json::json!({"q": "arts"}))
            .eq("id", 1)
            .build()
            .unwrap();
        assert_eq!(req.method(), "POST");
        assert_eq!(req.url().path(), "/rest/v1/rpc/list_grants");
        assert_eq!(req.url().query(), Some("id=eq.1"));
        assert_eq!(req.headers()["content-profile"], "public");
        let body = req.body().unwrap().as_bytes().unwrap();
        assert_eq!(body, br#"{"q":"arts"}"#);
    }
}
