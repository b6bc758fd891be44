package elasticsearch

import (
	"testing"
)

func TestRejectedDocumentRoundTrip(t *testing.T) {
	res := itemResult{Status: 400, ErrorType: "document_parsing_exception", Reason: "failed to parse field [n] <&>"}
	cases := []struct {
		name, doc, wantJSON string
	}{
		{"json document", `{"n":"abc"}`,
			`{"index":"i-1","status":400,"error_type":"document_parsing_exception","reason":"failed to parse field [n] <&>","document":{"n":"abc"}}`},
		{"text document", `not json`,
			`{"index":"i-1","status":400,"error_type":"document_parsing_exception","reason":"failed to parse field [n] <&>","document_text":"not json"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := newRejectedDocument("i-1", res, []byte(c.doc)).Encode()
			if err != nil {
				t.Fatal(err)
			}
			if string(v) != c.wantJSON {
				t.Errorf("Encode = %s\nwant     %s", v, c.wantJSON)
			}
			rd, err := ParseRejectedDocument(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(rd.Original()) != c.doc || rd.Index != "i-1" || rd.Status != 400 ||
				rd.Cause() != "document_parsing_exception: failed to parse field [n] <&>" {
				t.Errorf("decoded %+v: original %q, cause %q", rd, rd.Original(), rd.Cause())
			}
		})
	}
	if _, err := ParseRejectedDocument([]byte(`{"index":`)); err == nil {
		t.Error("ParseRejectedDocument accepted truncated JSON")
	}
	if got := (RejectedDocument{Reason: "r"}).Cause(); got != "r" {
		t.Errorf("Cause without error type = %q, want r", got)
	}
}
