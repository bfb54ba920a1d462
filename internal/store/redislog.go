package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// LogRedisTo routes go-redis's own messages into log, as JSON lines like the
// bridge's others, and at most three every ten seconds: go-redis writes a
// plain-text line to stderr for each failed dial, many a second while
// Redis is away, which breaks a JSON log pipeline and floods it. The
// bridge's own lines already say that the store stopped answering.
//
// go-redis has one logger per process (redis.SetLogger, safe to call at
// any time); a process runs one bridge, and the last call wins.
func LogRedisTo(log zerolog.Logger) {
	redis.SetLogger(redisLogger{log: log.With().Str("component", "go-redis").Logger().
		Sample(&zerolog.BurstSampler{Burst: 3, Period: 10 * time.Second})})
}

// redisLogger is go-redis's Logging interface over zerolog.
type redisLogger struct{ log zerolog.Logger }

// Printf implements go-redis's Logging.
func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	l.log.Warn().Msg(msg)
}
