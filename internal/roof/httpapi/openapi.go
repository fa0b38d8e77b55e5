package httpapi

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API's OpenAPI 3.1 description, served at
// GET /v1/openapi.json. It is written by hand; TestOpenAPIDescribesEveryRoute
// holds it to the route table (apiRoutes) and TestOpenAPIAnswers to what the
// handlers answer.
//
//go:embed openapi.json
var OpenAPI []byte

func getOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
