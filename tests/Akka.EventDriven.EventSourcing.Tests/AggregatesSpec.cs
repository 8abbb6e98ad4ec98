using Akka.EventDriven.Storage;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Npgsql;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>The aggregates extension and the edges of an aggregate entity: starts, bounds and input checks.</summary>
public sealed class AggregatesSpec
{
    private static string NewId() => $"agg-{Guid.NewGuid():N}";

    [Fact]
    public async Task An_aggregate_at_rest_holds_none_of_its_answered_commands()
    {
        // An aggregate at rest must not keep its answered commands alive until it passivates (the scale benchmark's 2
        // commands per id: ~0.4 KB each): not in a list of commands waiting to be reported (an earlier design's parent
        // entity), nor as the sender of the last message it handled (the journal's replies carry no caller): neither the
        // commands nor their answers (held by the caller's task) stay reachable.
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var id = NewId();
        var sent = await SendThreeAsync(node, id);
        // The region and the shard keep the sender of the last message they routed (Akka does not clear it), and so the
        // last answer's task: one command to another aggregate of the same shard moves them on, and leaves only what
        // the aggregate itself keeps.
        var extractor = new AggregateMessageExtractor(100);
        var neighbour = Enumerable.Range(0, 10_000).Select(i => $"{id}-n{i}").First(n => extractor.ShardId(n) == extractor.ShardId(id));
        await node.Ledger.SendAsync(neighbour, new Open("neighbour"));
        await TestWait.UntilAsync(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Assert.Equal(0, sent.Count(w => w.IsAlive));
            return Task.CompletedTask;
        });
        var state = await node.Ledger.GetStateAsync(id);
        Assert.Equal(3, state.Version);
        Assert.Equal(new RecoveryStats(null, 0), state.Recovery); // the same incarnation: it did not passivate meanwhile
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static async Task<WeakReference[]> SendThreeAsync(NodeHost node, string id)
    {
        object[] commands = [new Open("rest"), new Deposit(1m), new Deposit(2m)];
        var answers = new List<object>();
        foreach (var command in commands) answers.Add(Assert.IsType<CommandAccepted>(await node.Ledger.SendAsync(id, command)));
        return [.. commands.Concat(answers).Select(c => new WeakReference(c))];
    }

    [Fact]
    public async Task A_failed_start_is_not_cached_and_the_next_start_succeeds()
    {
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var aggregates = Aggregates.Get(node.System);
        var bad = AggregateSettings.Create(node.System, "Other") with { KeepSnapshots = 0 };

        await Assert.ThrowsAsync<ConfigurationException>(() => aggregates.StartAsync(OtherLedger.Definition, bad));
        var repository = await aggregates.StartAsync(OtherLedger.Definition);

        Assert.Equal("Other", repository.AggregateName);
        Assert.Equal(1, (await repository.SendAsync(NewId(), new Open("ok"))).Version);
    }

    [Fact]
    public async Task The_state_needs_no_stable_name_it_gets_one_after_its_aggregate_and_snapshots_go_under_it()
    {
        var registry = LedgerTypes.Current();
        Assert.False(registry.IsRegistered(typeof(LedgerState))); // the test domain names commands and events only
        var store = TestStore.NewSqlite();
        var id = NewId();
        await using (var node = await NodeHost.StartAsync(store, registry, aggregate: a => a.SnapshotEvery = 2))
        {
            Assert.Equal("Ledger.state.v1", Serialization.MessageTypes.For(node.System).NameOf(typeof(LedgerState)).Manifest);
            await node.Ledger.SendAsync(id, new Open("una"));
            await node.Ledger.SendAsync(id, new Deposit(4m));
            await TestWait.UntilAsync(async () =>
                Assert.Equal(2, (await AggregateContractSpec.LoadSnapshotAsync(node, id, long.MaxValue))?.Metadata.SequenceNr));
        }

        // A new node (a fresh registry that again names no state) reads the snapshot back under that name.
        await using var restarted = await NodeHost.StartAsync(store, LedgerTypes.Current(), aggregate: a => a.SnapshotEvery = 2);
        var state = await restarted.Ledger.GetStateAsync(id);
        Assert.Equal(new LedgerState("una", 4m, 2), state.State);
        Assert.Equal(new RecoveryStats(2, 0), state.Recovery);
    }

    [Fact]
    public async Task Commands_beyond_max_pending_commands_fail_at_once_while_the_aggregate_recovers()
    {
        var store = await PrivateDatabase.CreateAsync();
        const int maxPending = 10;
        await using var node = await NodeHost.StartAsync(store, aggregate: a => a.MaxPendingCommands = maxPending);
        var id = NewId();
        await node.Ledger.SendAsync(NewId(), new Open("warm-up")); // tables exist; this id stays cold

        // Recovery replays the journal: with its table locked by the test, the entity stays in recovery.
        var cs = StoreSettings.NormalizeConnectionString(store.Provider, store.ConnectionString);
        await using var locker = new NpgsqlConnection(cs);
        await locker.OpenAsync();
        await using var tx = await locker.BeginTransactionAsync();
        await using (var lockTables = new NpgsqlCommand(
                         "LOCK TABLE event_journal IN ACCESS EXCLUSIVE MODE", locker, tx))
            await lockTables.ExecuteNonQueryAsync();

        var probe = new TestProbe(node.System, new XunitAssertions());
        const int sent = 50;
        for (var i = 0; i < sent; i++)
            node.Ledger.Region.Tell(new AggregateCommand(id, i == 0 ? new Open("p") : new Deposit(1m), null, null, null, null), probe.Ref);

        // Everything past the bound is answered now, while the first ones wait for recovery.
        var failed = new List<CommandFailed>();
        for (var i = 0; i < sent - maxPending; i++) failed.Add(await probe.ExpectMsgAsync<CommandFailed>(TimeSpan.FromSeconds(20)));
        Assert.All(failed, f => { Assert.Contains("max-pending-commands", f.Reason); Assert.True(f.Overloaded); });

        await tx.CommitAsync();
        var accepted = new List<CommandAccepted>();
        for (var i = 0; i < maxPending; i++) accepted.Add(await probe.ExpectMsgAsync<CommandAccepted>(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(1, maxPending).Select(v => (long)v), accepted.Select(a => a.Version));
        Assert.Equal(maxPending, (await node.Ledger.GetStateAsync(id)).Version);
    }

    [Fact]
    public async Task Metadata_with_control_characters_is_refused_at_the_call()
    {
        await using var node = await NodeHost.StartAsync(TestStore.NewSqlite());
        var id = NewId();
        await Assert.ThrowsAsync<ArgumentException>(() =>
            node.Ledger.SendAsync(id, new Open("x"), new CommandOptions { CorrelationId = "case\0-7" }));
        await Assert.ThrowsAsync<ArgumentException>(() =>
            node.Ledger.SendAsync(id, new Open("x"), new CommandOptions { CausationId = new string('c', 2000) }));
        await Assert.ThrowsAsync<ArgumentException>(() =>
            node.Ledger.SendAsync(id, new Open("x"), new CommandOptions { Headers = new Dictionary<string, string> { ["user"] = "a\0b" } }));
        Assert.Equal(0, (await node.Ledger.GetStateAsync(id)).Version);
    }

    [Fact]
    public async Task A_bad_tag_fails_only_its_own_command_and_stores_nothing_for_it()
    {
        var registry = LedgerTypes.Current();
        await using var node = await NodeHost.StartAsync(TestStore.Best(), registry);
        var tagging = await Aggregates.Get(node.System).StartAsync(TaggingLedger.Definition);
        var good = NewId();
        var bad = NewId();

        var sends = new[]
        {
            tagging.SendAsync(good, new Open("fine")),
            tagging.SendAsync(bad, new Open("bad\0tag")),
        };
        Assert.Equal(1, (await sends[0]).Version);
        var failure = await Assert.ThrowsAsync<AggregateFailedException>(() => sends[1]);
        Assert.Contains("invalid tag", failure.Message);
        Assert.Equal(0, (await tagging.GetStateAsync(bad)).Version);
        Assert.Single(await tagging.GetHistoryAsync(good));
    }

    /// <summary>The Ledger under another aggregate name.</summary>
    private sealed class OtherLedger : Aggregate<LedgerState>
    {
        public static readonly OtherLedger Definition = new();
        public override string Name => "Other";
        public override LedgerState InitialState => Ledger.Definition.InitialState;
        public override Decision Decide(LedgerState state, object command) => Ledger.Definition.Decide(state, command);
        public override LedgerState Apply(LedgerState state, object @event) => Ledger.Definition.Apply(state, @event);
    }

    /// <summary>The Ledger tagging each opening with its owner's name, which may be anything a user typed.</summary>
    private sealed class TaggingLedger : Aggregate<LedgerState>
    {
        public static readonly TaggingLedger Definition = new();
        public override string Name => "Tagging";
        public override LedgerState InitialState => Ledger.Definition.InitialState;
        public override Decision Decide(LedgerState state, object command) => Ledger.Definition.Decide(state, command);
        public override LedgerState Apply(LedgerState state, object @event) => Ledger.Definition.Apply(state, @event);
        public override IEnumerable<string> Tags(object @event) => @event is Opened o ? [$"owner-{o.Owner}"] : [];
    }
}
