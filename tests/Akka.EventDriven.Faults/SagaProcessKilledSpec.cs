using System.Diagnostics;
using Npgsql;
using Xunit.Abstractions;

namespace Akka.EventDriven.Faults;

/// <summary>
/// Fault 4, a saga process killed: a node process starts 300 sagas (every other one fails at its last step) and is
/// killed with SIGKILL while they are in flight, most of them inside a step; a new process, sent no command, resumes
/// them from the journal. Every saga ends Completed or Compensated, and the effects table (one row per step and per
/// compensation run) shows no compensation ran twice and no completed saga was compensated.
/// </summary>
public sealed class SagaProcessKilledSpec(ITestOutputHelper output)
{
    private const int Sagas = 300;

    [Fact]
    public async Task Hundreds_of_sagas_killed_mid_step_all_end_completed_or_compensated_with_each_compensation_run_once()
    {
        var url = await ServiceProcess.NewDatabaseUrlAsync();
        var cs = Storage.StoreSettings.NormalizeConnectionString(Storage.StoreProvider.PostgreSql, url);
        var runId = $"m{Guid.NewGuid():N}"[..16];
        var clock = Stopwatch.StartNew();

        // 1. Start them all; kill the process once at least half are inside "charge" (the rest are before or after it).
        var started = new Dictionary<string, bool>(); // saga id -> fails at its last step
        var inStep = 0;
        using (var first = StartNode(url, runId, "start-many", Sagas.ToString()))
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
                while (inStep < Sagas / 2)
                {
                    var line = await first.StandardOutput.ReadLineAsync(timeout.Token)
                               ?? throw new InvalidOperationException("Saga node exited: " + await first.StandardError.ReadToEndAsync());
                    var parts = line.Split(' ');
                    if (parts[0] == "started") started[parts[2]] = parts[1] == "fail";
                    if (parts[0] == "in-step") inStep++;
                }
            }
            finally
            {
                first.Kill(entireProcessTree: true); // SIGKILL, with hundreds in flight
                await first.WaitForExitAsync();
            }
        }
        var killedAt = clock.Elapsed;
        var knownAtKill = started.Count;

        // 2. A new process: no command is sent; every saga the journal knows must end by itself.
        using (var second = StartNode(url, runId, "resume"))
        {
            try
            {
                await TestWait.UntilAsync(async () =>
                {
                    var finals = await FinalEventsAsync(cs);
                    var sagaCount = await SagaCountAsync(cs);
                    Assert.True(sagaCount > 0 && finals.Count == sagaCount, $"{finals.Count} of {sagaCount} sagas ended");
                }, TimeSpan.FromSeconds(120));
            }
            finally
            {
                second.Kill(entireProcessTree: true);
                await second.WaitForExitAsync();
            }
        }
        var resumedIn = clock.Elapsed - killedAt;

        var ends = await FinalEventsAsync(cs);
        var effects = await EffectsAsync(cs, runId);
        Assert.All(ends, e => Assert.True(e.Value is "saga.completed.v1" or "saga.compensated.v1", $"{e.Key} ended {e.Value}"));
        foreach (var (id, final) in ends)
        {
            var mine = effects.GetValueOrDefault(id) ?? [];
            foreach (var undo in mine.Where(e => e.StartsWith("undo:")).GroupBy(e => e))
                Assert.True(undo.Count() == 1, $"{id}: {undo.Key} ran {undo.Count()} times: {string.Join(",", mine)}");
            if (final == "saga.completed.v1")
            {
                Assert.DoesNotContain(mine, e => e.StartsWith("undo:"));
                Assert.Equal(1, mine.Count(e => e == "do:ship"));
            }
            else
            {
                // Compensated: exactly the steps that ran are undone (reserve always ran; charge if it started).
                Assert.Contains("undo:reserve", mine);
                Assert.Equal(mine.Contains("do:charge"), mine.Contains("undo:charge"));
                Assert.DoesNotContain("do:ship", mine);
            }
        }
        // Every saga a client was told about is among those that ended.
        Assert.All(started.Keys, id => Assert.True(ends.ContainsKey($"saga:{id}"), $"saga {id} was started but never ended"));
        var known = started.Count;
        var completed = ends.Count(e => e.Value == "saga.completed.v1");
        var report = $"{ends.Count} sagas in the journal ({knownAtKill} acknowledged to the client, {inStep} inside a step at the " +
                     $"kill); all ended {resumedIn.TotalSeconds:F1} s after it: {completed} completed, {ends.Count - completed} " +
                     $"compensated, no compensation twice";
        output.WriteLine(report);
        FaultReport.Write("saga-process-killed", report);
        Assert.True(known >= Sagas / 2);
    }

    private static Process StartNode(string url, string runId, params string[] mode)
    {
        var node = Path.Combine(AppContext.BaseDirectory.Replace("Akka.EventDriven.Faults", "Akka.EventDriven.TestNode"), "Akka.EventDriven.TestNode.dll");
        Assert.True(File.Exists(node), $"Test node not built at {node}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { node, "saga", url, runId }.Concat(mode)) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    /// <summary>Every saga stream's last event, by persistence id (<c>saga:&lt;id&gt;</c>), where it is a final one.</summary>
    private static async Task<Dictionary<string, string>> FinalEventsAsync(string cs)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT DISTINCT ON (persistence_id) persistence_id, manifest FROM event_journal
            WHERE persistence_id LIKE 'saga:%' ORDER BY persistence_id, sequence_nr DESC
            """, connection);
        var result = new Dictionary<string, string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var manifest = reader.GetString(1);
            if (manifest is "saga.completed.v1" or "saga.compensated.v1" or "saga.failed.v1") result[reader.GetString(0)] = manifest;
        }
        return result;
    }

    private static async Task<long> SagaCountAsync(string cs)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(DISTINCT persistence_id) FROM event_journal WHERE persistence_id LIKE 'saga:%'", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<Dictionary<string, List<string>>> EffectsAsync(string cs, string runId)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT saga_id, effect FROM saga_crash_effects WHERE run_id = $1 ORDER BY id", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
        var result = new Dictionary<string, List<string>>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var key = $"saga:{reader.GetString(0)}";
            if (!result.TryGetValue(key, out var list)) result[key] = list = [];
            list.Add(reader.GetString(1));
        }
        return result;
    }
}
