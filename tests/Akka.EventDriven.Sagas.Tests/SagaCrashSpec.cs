using System.Diagnostics;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;
using Npgsql;

namespace Akka.EventDriven.Sagas.Tests;

/// <summary>
/// A node process runs two sagas and is killed with SIGKILL while both are inside their second step; a new process
/// (which sends no command) resumes them from the journal: one completes, the other fails at its last step and is
/// compensated. The effect table shows the unrecorded step ran again (with the same idempotency key) and each
/// compensation ran exactly once, in reverse order.
/// </summary>
public sealed class SagaCrashSpec
{
    [Fact]
    public async Task Sagas_killed_mid_step_resume_in_a_new_process_and_compensate_each_step_once()
    {
        var url = TestStore.PostgreSql().ConnectionString;
        var cs = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, url);
        var runId = $"c{Guid.NewGuid():N}"[..16];

        // 1. Start both sagas; kill the node once both are inside "charge".
        var started = new Dictionary<string, string>();
        using (var first = StartNode(url, runId, "start"))
        {
            try
            {
                var inStep = 0;
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                while (inStep < 2)
                {
                    var line = await first.StandardOutput.ReadLineAsync(timeout.Token)
                               ?? throw new InvalidOperationException("Saga node exited: " + await first.StandardError.ReadToEndAsync());
                    var parts = line.Split(' ');
                    if (parts[0] == "started") started[parts[1]] = parts[2];
                    if (parts[0] == "in-step") inStep++;
                }
            }
            finally
            {
                first.Kill(entireProcessTree: true); // SIGKILL, mid-step
                await first.WaitForExitAsync();
            }
        }
        var (ok, fail) = (started["ok"], started["fail"]);
        Assert.Null(await FinalEventAsync(cs, ok));
        Assert.Equal(1, (await EffectsAsync(cs, runId, ok)).Count(e => e.Effect == "do:charge"));

        // 2. A new node: no command is sent to either saga; they resume from the journal by themselves.
        using (var second = StartNode(url, runId, "resume"))
        {
            try
            {
                await TestWait.UntilAsync(async () =>
                {
                    Assert.Equal("saga.completed.v1", await FinalEventAsync(cs, ok));
                    Assert.Equal("saga.compensated.v1", await FinalEventAsync(cs, fail));
                }, TimeSpan.FromSeconds(45));
            }
            finally
            {
                second.Kill(entireProcessTree: true);
                await second.WaitForExitAsync();
            }
        }

        var okEffects = await EffectsAsync(cs, runId, ok);
        Assert.Equal(["do:reserve", "do:charge", "do:charge", "try:ship", "do:ship"], okEffects.Select(e => e.Effect));
        var charges = okEffects.Where(e => e.Effect == "do:charge").Select(e => e.Key).Distinct().ToList();
        Assert.Equal([$"{ok}:charge"], charges); // the repeat had the same idempotency key

        var failEffects = (await EffectsAsync(cs, runId, fail)).Select(e => e.Effect).ToList();
        Assert.Equal(["do:reserve", "do:charge", "do:charge", "try:ship", "try:ship", "undo:charge", "undo:reserve"], failEffects);
    }

    private static Process StartNode(string url, string runId, string mode)
    {
        var node = Path.Combine(AppContext.BaseDirectory.Replace("Akka.EventDriven.Sagas.Tests", "Akka.EventDriven.TestNode"),
            "Akka.EventDriven.TestNode.dll");
        Assert.True(File.Exists(node), $"Test node not built at {node}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { node, "saga", url, runId, mode }) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    /// <summary>The manifest of the saga's last journal event if it is a final one, else null.</summary>
    private static async Task<string?> FinalEventAsync(string cs, string sagaId)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT manifest FROM event_journal WHERE persistence_id = $1 ORDER BY sequence_nr DESC LIMIT 1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = $"saga:{sagaId}" });
        var manifest = await command.ExecuteScalarAsync() as string;
        return manifest is "saga.completed.v1" or "saga.compensated.v1" or "saga.failed.v1" ? manifest : null;
    }

    private static async Task<List<(string Effect, string Key)>> EffectsAsync(string cs, string runId, string sagaId)
    {
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT effect, idempotency_key FROM saga_crash_effects WHERE run_id = $1 AND saga_id = $2 ORDER BY id", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = sagaId });
        var result = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result.Add((reader.GetString(0), reader.GetString(1)));
        return result;
    }
}
