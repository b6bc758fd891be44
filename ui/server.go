// Package ui is `flowship ui`: an HTTP server with the web application
// (embedded assets, no request to any other host) and its JSON API over
// Elasticsearch aggregations on the read aliases. Every API endpoint
// builds its Elasticsearch query from Server.scope, the one place where
// the filter bar and the user's access become query clauses.
package ui

import (
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	goes "github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/pipeline"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/ui/auth"
)

//go:embed assets
var assetFS embed.FS

// Server serves the UI and its API. It holds no mutable state beyond its
// construction; handlers run concurrently.
type Server struct {
	cfg    Config
	es     searcher
	naming esink.Naming
	auth   *auth.Authenticator
	log    *slog.Logger
	now    func() time.Time
	// ready checks the Elasticsearch cluster for /readyz (esReady; nil
	// when built by New, which has no probe client).
	ready func(context.Context) error
}

// New returns a Server that queries es through naming's read aliases,
// with a deciding who may call the API and what they see. es must be
// built over a.Transport (Open does both).
func New(cfg Config, es *goes.Client, a *auth.Authenticator, naming esink.Naming, log *slog.Logger) *Server {
	return &Server{cfg: cfg, es: esSearcher{es}, auth: a, naming: naming, log: log, now: time.Now}
}

// alias is the read alias of kind.
func (s *Server) alias(kind pipeline.Kind) string { return s.naming.ReadAlias(kind) }

// Handler returns the HTTP handler of the UI and the API under BasePath.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	b := s.cfg.BasePath
	api := s.api()
	// Every API answer needs a signed-in user (auth.Require puts the
	// principal in the context; scope turns it into query clauses). The
	// page, its assets and healthz are public: they hold no data.
	for path, h := range api {
		mux.Handle("GET "+b+path, s.auth.Require(s.jsonHandler(h)))
	}
	mux.Handle("GET "+b+"api/flowlogs/export", s.auth.Require(http.HandlerFunc(s.handleExport)))
	s.auth.Mount(mux, b)
	mux.HandleFunc("GET "+b+"healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	sub, _ := fs.Sub(assetFS, "assets")
	static := http.StripPrefix(b+"assets/", http.FileServerFS(sub))
	mux.Handle("GET "+b+"assets/", static)
	mux.HandleFunc("GET "+b+"{$}", func(w http.ResponseWriter, r *http.Request) {
		page, err := fs.ReadFile(sub, "index.html")
		if err != nil {
			http.Error(w, "index.html missing from the build", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(strings.ReplaceAll(string(page), "{{BASE}}", b)))
	})
	mux.HandleFunc(b+"api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, obj{"error": "no such API endpoint: " + r.Method + " " + r.URL.Path})
	})
	return securityHeaders(mux)
}

// api are the JSON endpoints (besides the export) by path under BasePath.
func (s *Server) api() map[string]func(http.ResponseWriter, *http.Request) (any, error) {
	return map[string]func(http.ResponseWriter, *http.Request) (any, error){
		"api/meta":           s.handleMeta,
		"api/flows/graph":    s.handleFlowGraph,
		"api/flows/arc":      s.handleFlowArc,
		"api/policies/board": s.handleBoard,
		"api/policies/rules": s.handleRules,
		"api/services/graph": s.handleServiceGraph,
		"api/services/http":  s.handleHTTP,
		"api/services/dns":   s.handleDNS,
		"api/flowlogs":       s.handleFlowLogs,
		"api/hints":          s.handleHints,
	}
}

// securityHeaders forbids loading anything from another host.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// jsonHandler runs h with the query timeout and answers its result as
// JSON: a badRequest as 400 with its reason, an Elasticsearch failure as
// 502 with a fixed text (the reason goes to the log only).
func (s *Server) jsonHandler(h func(http.ResponseWriter, *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QueryTimeout)
		defer cancel()
		v, err := h(w, r.WithContext(ctx))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var bad badRequest
	var es errES
	var forbidden errForbidden
	switch {
	case errors.As(err, &bad):
		writeJSON(w, http.StatusBadRequest, obj{"error": bad.msg})
	case errors.As(err, &forbidden):
		writeJSON(w, http.StatusForbidden, obj{"error": forbidden.msg})
	case errors.As(err, &es):
		s.log.Warn("ui: query failed", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusBadGateway, obj{"error": "the Elasticsearch query failed; the flowship ui log has the reason"})
	default:
		s.log.Error("ui: request failed", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, obj{"error": "internal error; the flowship ui log has the reason"})
	}
}

// errForbidden is a request for something the user may not see (403).
type errForbidden struct{ msg string }

func (e errForbidden) Error() string { return e.msg }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) handleMeta(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.scope(r, pipeline.KindFlow)
	if err != nil {
		return nil, err
	}
	return obj{
		"presets": Presets, "default_range": DefaultRange,
		"from": q.Filter.From, "to": q.Filter.To, "now": s.now().UTC(),
		"aliases": obj{"flows": s.alias(pipeline.KindFlow), "l7": s.alias(pipeline.KindL7), "dns": s.alias(pipeline.KindDNS)},
	}, nil
}

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      s.cfg.QueryTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	if s.cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("ui.tls: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("ui: shutdown: %w", err)
	}
	<-errc
	return nil
}

// URL is the address a browser opens for ln's listener.
func (s *Server) URL(ln net.Listener) string {
	scheme := "http"
	if s.cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + ln.Addr().String() + s.cfg.BasePath
}
