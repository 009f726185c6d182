package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sync"

	omav1 "oma.dev/clients/go/gen/oma/v1"
	"oma.dev/clients/go/omaclient"
)

// Appender modes (see clients/ts/src/testing/appender-driver-tests.ts). Each append is a
// batch of two custom events, "append-I-0" and "append-I-1"; each acknowledgement prints
// "acked I SEQ0 SEQ1 DUPLICATE" after checking that it carries its own batch.

// appendsInParallel makes n appends at once over one Appender.
func appendsInParallel(ctx context.Context, oma *omaclient.Client, session string, n int) {
	appender := oma.OpenAppender(omaclient.AppenderOptions{Backoff: fastBackoff, MaxAttempts: 1000, OnResend: printResend})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			must(appendOne(ctx, appender, session, i, omaclient.AppendOptions{}))
		}(i)
	}
	wg.Wait()
	must(appender.Close())
}

// appendsWithARefusal makes, at once, five appends, one at a stale expected head, and one
// more; it prints "refused REASON CODE" for the refused one.
func appendsWithARefusal(ctx context.Context, oma *omaclient.Client, session string) {
	appender := oma.OpenAppender(omaclient.AppenderOptions{Backoff: fastBackoff, MaxAttempts: 1000, OnResend: printResend})
	stale := int64(0)
	var wg sync.WaitGroup
	for i := 0; i < 7; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i != 5 {
				must(appendOne(ctx, appender, session, i, omaclient.AppendOptions{}))
				return
			}
			err := appendOne(ctx, appender, session, i, omaclient.AppendOptions{ExpectedHeadSeq: &stale})
			info := omaclient.InfoOf(err)
			printMu.Lock()
			defer printMu.Unlock()
			fmt.Printf("refused %s %s\n", info.Reason, info.Code)
		}(i)
	}
	wg.Wait()
	must(appender.Close())
}

// appendsAcrossABreak makes appends 0-19 at once and prints "paused" once they are
// acknowledged; after a line on stdin (the test holds the acknowledgements back first, and
// kills and restarts the server once appends 20-35 are written) it makes appends 20-35 at
// once, then 36-55, then prints "total 56".
func appendsAcrossABreak(ctx context.Context, oma *omaclient.Client, session string) {
	appender := oma.OpenAppender(omaclient.AppenderOptions{Backoff: fastBackoff, MaxAttempts: 1000, OnResend: printResend})
	appendAll := func(from, to int) {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				must(appendOne(ctx, appender, session, i, omaclient.AppendOptions{}))
			}(i)
		}
		wg.Wait()
	}
	appendAll(0, 20)
	fmt.Println("paused")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		must(err)
	}
	appendAll(20, 36)
	appendAll(36, 56)
	must(appender.Close())
	fmt.Println("total 56")
}

var printMu sync.Mutex

func appendOne(ctx context.Context, appender *omaclient.Appender, session string, i int, opts omaclient.AppendOptions) error {
	events := []*omav1.Event{customEvent(fmt.Sprintf("append-%d-0", i)), customEvent(fmt.Sprintf("append-%d-1", i))}
	ack, err := appender.Append(ctx, session, events, opts)
	if err != nil {
		return err
	}
	got := ack.GetEvents()
	if len(got) != 2 || got[0].GetCustom().GetType() != events[0].GetCustom().GetType() || got[1].GetCustom().GetType() != events[1].GetCustom().GetType() {
		return fmt.Errorf("append %d acknowledged with another batch: %v", i, got)
	}
	printMu.Lock()
	defer printMu.Unlock()
	fmt.Printf("acked %d %d %d %t\n", i, got[0].GetSeq(), got[1].GetSeq(), ack.GetDuplicate())
	return nil
}

func customEvent(kind string) *omav1.Event {
	return &omav1.Event{Payload: &omav1.Event_Custom{Custom: &omav1.CustomEvent{Type: kind}}}
}

func printResend(unanswered int, cause error) {
	fmt.Fprintf(os.Stderr, "# resend %d %s\n", unanswered, omaclient.InfoOf(cause).Code)
}
