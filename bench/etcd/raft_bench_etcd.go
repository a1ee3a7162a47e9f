// raft_bench_etcd: etcd-raft 3.4 in the shape of bench/raft_bench.cc, for a side-by-side figure of the
// core's CPU cost per committed entry (bench/etcd/compare.sh runs both in one session).
//
// Three RawNodes in one process, each with its own MemoryStorage (compacted to the applied index every
// 4096 entries, as raft_bench does), 256-byte entries, messages handed over in process, no fsync. One
// round = `batch` proposals at the leader, then every node's ready loop until no message is left.
// Config as raft_bench: 64 KiB per message, 256 messages in flight, PreVote and CheckQuorum on.
//
// Built offline in GOPATH mode against Debian's golang-etcd-server-dev (see compare.sh):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o raft_bench_etcd raft_bench_etcd.go
//
// Output, one line per batch size: "batch <n> mode <m> cpu_us_per_entry <x> rounds <r>". CPU time is the
// process's user+system time (getrusage), so Go's garbage collector threads are counted.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/raft"
	"go.etcd.io/etcd/raft/raftpb"
)

const compactEvery = 4096

type cluster struct {
	nodes    []*raft.RawNode
	storages []*raft.MemoryStorage
	applied  []uint64
	inbox    []raftpb.Message
	spare    []raftpb.Message // the other inbox buffer, reused so that the harness allocates nothing per round
}

func newCluster() *cluster {
	c := &cluster{}
	peers := []raft.Peer{{ID: 1}, {ID: 2}, {ID: 3}}
	for id := uint64(1); id <= 3; id++ {
		s := raft.NewMemoryStorage()
		cfg := &raft.Config{
			ID:              id,
			ElectionTick:    10,
			HeartbeatTick:   1,
			Storage:         s,
			MaxSizePerMsg:   64 * 1024,
			MaxInflightMsgs: 256,
			PreVote:         true,
			CheckQuorum:     true,
		}
		cfg.Logger = discardLogger{}
		n, err := raft.NewRawNode(cfg)
		if err != nil {
			panic(err)
		}
		if err := n.Bootstrap(peers); err != nil {
			panic(err)
		}
		c.nodes = append(c.nodes, n)
		c.storages = append(c.storages, s)
		c.applied = append(c.applied, 0)
	}
	c.pump() // applies the bootstrap configuration changes: a node knows its peers only after that
	if err := c.nodes[0].Campaign(); err != nil {
		panic(err)
	}
	c.pump()
	return c
}

// pump runs every node's ready loop until no messages remain (raft_bench's Cluster::pump).
func (c *cluster) pump() {
	for busy := true; busy; {
		busy = false
		for i, n := range c.nodes {
			if !n.HasReady() {
				continue
			}
			busy = true
			rd := n.Ready()
			s := c.storages[i]
			if !raft.IsEmptyHardState(rd.HardState) {
				s.SetHardState(rd.HardState)
			}
			if len(rd.Entries) > 0 {
				s.Append(rd.Entries)
			}
			c.inbox = append(c.inbox, rd.Messages...)
			for _, e := range rd.CommittedEntries {
				c.applied[i] = e.Index
				if e.Type == raftpb.EntryConfChange {
					var cc raftpb.ConfChange
					cc.Unmarshal(e.Data)
					n.ApplyConfChange(cc)
				}
			}
			n.Advance(rd)
			c.maybeCompact(i)
		}
		batch := c.inbox
		c.inbox = c.spare[:0]
		for _, m := range batch {
			c.nodes[m.To-1].Step(m)
			busy = true
		}
		c.spare = batch[:0]
	}
}

func (c *cluster) maybeCompact(i int) {
	s := c.storages[i]
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if last < first+compactEvery || c.applied[i] <= first {
		return
	}
	if err := s.Compact(c.applied[i]); err != nil && err != raft.ErrCompacted {
		panic(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// run measures rounds of `batch` proposals for at least minTime of CPU and returns CPU µs per entry.
// oneMsg proposes the round's entries as one MsgProp (one AppendEntries per follower, as raftbgp's core
// coalesces them); otherwise each is its own Propose(), as etcd's server does, and etcd-raft sends one
// MsgApp per proposal and follower while its inflight window allows.
func run(batch int, minTime time.Duration, oneMsg bool) (float64, int) {
	c := newCluster()
	payload := []byte(strings.Repeat("x", 256))
	start := cpuTime()
	startApplied := c.applied[0]
	rounds := 0
	for cpuTime()-start < minTime {
		for k := 0; k < 64; k++ {
			prop := raftpb.Message{Type: raftpb.MsgProp, From: 1}
			for j := 0; j < batch; j++ {
				// A fresh buffer per proposal, as raft_bench copies its payload into each propose().
				data := append([]byte(nil), payload...)
				if oneMsg {
					prop.Entries = append(prop.Entries, raftpb.Entry{Data: data})
				} else if err := c.nodes[0].Propose(data); err != nil {
					panic(err)
				}
			}
			if oneMsg {
				if err := c.nodes[0].Step(prop); err != nil {
					panic(err)
				}
			}
			c.pump()
			rounds++
		}
	}
	elapsed := cpuTime() - start
	committed := c.applied[0] - startApplied
	if committed != uint64(rounds*batch) {
		fmt.Fprintf(os.Stderr, "batch %d: %d committed of %d proposed\n", batch, committed, rounds*batch)
		os.Exit(1)
	}
	return float64(elapsed.Microseconds()) / float64(committed), rounds
}

type discardLogger struct{}

func (discardLogger) Debug(v ...interface{})                   {}
func (discardLogger) Debugf(format string, v ...interface{})   {}
func (discardLogger) Error(v ...interface{})                   {}
func (discardLogger) Errorf(format string, v ...interface{})   {}
func (discardLogger) Info(v ...interface{})                    {}
func (discardLogger) Infof(format string, v ...interface{})    {}
func (discardLogger) Warning(v ...interface{})                 {}
func (discardLogger) Warningf(format string, v ...interface{}) {}
func (discardLogger) Fatal(v ...interface{})                   { panic(fmt.Sprint(v...)) }
func (discardLogger) Fatalf(format string, v ...interface{})   { panic(fmt.Sprintf(format, v...)) }
func (discardLogger) Panic(v ...interface{})                   { panic(fmt.Sprint(v...)) }
func (discardLogger) Panicf(format string, v ...interface{})   { panic(fmt.Sprintf(format, v...)) }

func main() {
	batches := flag.String("batches", "1,8,64,256", "proposals per round, comma-separated")
	minTime := flag.Duration("min_time", time.Second, "CPU time to measure per batch size")
	mode := flag.String("mode", "each", "each: one Propose() per entry; batch: one MsgProp per round")
	cpuprofile := flag.String("cpuprofile", "", "write a pprof CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			panic(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
		defer pprof.StopCPUProfile()
	}
	for _, b := range strings.Split(*batches, ",") {
		batch, err := strconv.Atoi(b)
		if err != nil || batch <= 0 {
			fmt.Fprintf(os.Stderr, "bad batch %q\n", b)
			return
		}
		us, rounds := run(batch, *minTime, *mode == "batch")
		fmt.Printf("batch %d mode %s cpu_us_per_entry %.3f rounds %d\n", batch, *mode, us, rounds)
	}
}
