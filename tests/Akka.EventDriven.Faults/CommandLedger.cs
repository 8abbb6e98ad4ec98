using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Akka.EventDriven.Faults;

/// <summary>One command's fate as its client saw it.</summary>
/// <param name="AggregateId">The Ledger aggregate.</param>
/// <param name="Node">Index of the node it was sent to.</param>
/// <param name="StartedAt">When it was sent, on the test's clock (<see cref="CommandLedger.Clock"/>).</param>
/// <param name="Took">How long until the answer (or the error).</param>
/// <param name="Status">HTTP status; 0 when no HTTP answer came (connection refused or reset).</param>
/// <param name="Version">For an acknowledged command, the aggregate version its event got.</param>
/// <param name="Error">For a failed one, what the client was told.</param>
public sealed record CommandOutcome(string AggregateId, int Node, TimeSpan StartedAt, TimeSpan Took, int Status, long? Version, string? Error)
{
    public bool Acknowledged => Version is not null;
}

/// <summary>
/// The client-side ledger of a fault test: every deposit sent over HTTP and what came back. After the fault it is
/// checked against the journal: each acknowledged command's event is stored at the version the client was told, and
/// no stream has a gap.
/// </summary>
public sealed class CommandLedger
{
    private readonly ConcurrentQueue<CommandOutcome> _outcomes = new();

    /// <summary>The test's clock, started with the ledger.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public IReadOnlyList<CommandOutcome> Outcomes => _outcomes.ToArray();

    public IReadOnlyList<CommandOutcome> Acknowledged => _outcomes.Where(o => o.Acknowledged).ToArray();

    /// <summary>Sends one deposit of 1 to <paramref name="aggregateId"/> through <paramref name="client"/> and records it.</summary>
    public async Task<CommandOutcome> DepositAsync(HttpClient client, int node, string aggregateId)
    {
        var started = Clock.Elapsed;
        CommandOutcome outcome;
        try
        {
            using var response = await client.PostAsJsonAsync("/api/commands",
                new { type = "ledger.deposit", aggregateId, payload = new { amount = 1 } });
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            long? version = null;
            string? error = null;
            if (status == 200)
            {
                using var body = JsonDocument.Parse(text);
                version = body.RootElement.GetProperty("data").GetProperty("version").GetInt64();
            }
            else error = text;
            outcome = new CommandOutcome(aggregateId, node, started, Clock.Elapsed - started, status, version, error);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            outcome = new CommandOutcome(aggregateId, node, started, Clock.Elapsed - started, 0, null, $"{e.GetType().Name}: {e.Message}");
        }
        _outcomes.Enqueue(outcome);
        return outcome;
    }

    /// <summary>Sends deposits from <paramref name="workers"/> concurrent clients, each to the next live node in turn and a
    /// random aggregate of <paramref name="ids"/>, until <paramref name="stop"/> is cancelled; a refused client pauses
    /// 100 ms before its next command.</summary>
    public Task RunLoadAsync(IReadOnlyList<HttpClient> clients, Func<int, bool> alive, IReadOnlyList<string> ids, int workers,
        CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            // A refused client waits for its next 100 ms tick before the next command, as a real one would back off,
            // so that a fast-failing node is not flooded into its rate limit.
            using var backOff = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            for (var turn = w; !stop.IsCancellationRequested; turn++)
            {
                var node = Enumerable.Range(turn, clients.Count).Select(i => i % clients.Count).FirstOrDefault(alive, -1);
                if (node < 0) return;
                var outcome = await DepositAsync(clients[node], node, ids[random.Next(ids.Count)]);
                if (!outcome.Acknowledged) await backOff.WaitForNextTickAsync();
            }
        })));

    /// <summary>Checks the journal rows of the run's aggregates against the ledger: every stream is 1..n with no gap, every
    /// acknowledged version is stored, and each aggregate's balance (deposits of 1) equals its stored events.</summary>
    public static void AssertNothingLost(IReadOnlyList<CommandOutcome> acknowledged, IReadOnlyList<(string PersistenceId, long SequenceNr)> journal,
        string aggregateName = "Ledger")
    {
        var streams = journal.GroupBy(r => r.PersistenceId).ToDictionary(g => g.Key, g => g.Select(r => r.SequenceNr).Order().ToArray());
        foreach (var (id, seqs) in streams)
        {
            var expected = Enumerable.Range(1, seqs.Length).Select(i => (long)i);
            Assert.True(seqs.SequenceEqual(expected), $"{id}: sequence numbers are not 1..{seqs.Length} without gap or duplicate: " +
                                                      string.Join(",", seqs.Take(50)));
        }
        var lost = acknowledged
            .Where(a => !streams.TryGetValue($"{aggregateName}-{a.AggregateId}", out var seqs) || Array.BinarySearch(seqs, a.Version!.Value) < 0)
            .ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged command(s) have no event in the journal, first: {lost.FirstOrDefault()}");
        var twice = acknowledged.GroupBy(a => (a.AggregateId, a.Version)).Where(g => g.Count() > 1).ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} version(s) acknowledged to two commands, first: {twice.FirstOrDefault()?.Key}");
    }
}
