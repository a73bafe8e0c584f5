package retention_test

import (
	"os"
	"testing"

	"github.com/uss/uss/internal/apitest"
)

func TestMain(m *testing.M) { os.Exit(apitest.Run(m)) }
