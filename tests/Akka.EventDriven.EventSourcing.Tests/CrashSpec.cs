using System.Diagnostics;
using Akka.EventDriven.Storage;
using Npgsql;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// A node in a separate process is killed with SIGKILL while 80 command loops write through the batched PostgreSQL
/// journal: every command it acknowledged must be in the journal, every stream must be contiguous, and a new node
/// must continue each stream after the stored events.
/// </summary>
public sealed class CrashSpec
{
    [Fact]
    public async Task Every_acknowledged_event_survives_a_kill_and_streams_continue_without_holes()
    {
        var url = TestStore.PostgreSql().ConnectionString;
        var runId = $"crash{Guid.NewGuid():N}"[..16];

        var acked = await RunAndKillAsync(url, runId, acksBeforeKill: 3000);
        Assert.True(acked.Count > 0);
        var stored = await StoredAsync(url, runId);
        foreach (var (id, version) in acked)
        {
            Assert.True(stored.TryGetValue($"Counter-{id}", out var s), $"{id} acknowledged v{version} but has no events");
            Assert.True(s.Max >= version, $"{id}: acknowledged v{version} but only v{s.Max} is stored");
            Assert.Equal(s.Max, s.Count); // sequence numbers 1..max, no hole, no duplicate
        }

        var afterRestart = await RunAndKillAsync(url, runId, acksBeforeKill: 400);
        var final = await StoredAsync(url, runId);
        foreach (var (id, version) in afterRestart)
        {
            Assert.True(version > stored.GetValueOrDefault($"Counter-{id}").Max, $"{id} reused a stored version");
            Assert.Equal(final[$"Counter-{id}"].Max, final[$"Counter-{id}"].Count);
        }
    }

    private static async Task<Dictionary<string, long>> RunAndKillAsync(string url, string runId, int acksBeforeKill)
    {
        var node = Path.Combine(AppContext.BaseDirectory.Replace("Akka.EventDriven.EventSourcing.Tests", "Akka.EventDriven.TestNode"),
            "Akka.EventDriven.TestNode.dll");
        Assert.True(File.Exists(node), $"Test node not built at {node}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { node, url, runId, "20" }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var acked = new Dictionary<string, long>();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var count = 0;
            while (count < acksBeforeKill)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                           ?? throw new InvalidOperationException("Test node exited: " + await process.StandardError.ReadToEndAsync());
                if (!line.StartsWith("ack ")) continue;
                var parts = line.Split(' ');
                acked[parts[1]] = Math.Max(acked.GetValueOrDefault(parts[1]), long.Parse(parts[2]));
                count++;
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true); // SIGKILL: no graceful shutdown, writes may be in flight
            await process.WaitForExitAsync();
        }
        return acked;
    }

    private static async Task<Dictionary<string, (long Max, long Count)>> StoredAsync(string url, string runId)
    {
        await using var connection = new NpgsqlConnection(StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, url));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT persistence_id, max(sequence_nr), count(*) FROM event_journal WHERE persistence_id LIKE $1 GROUP BY persistence_id",
            connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = $"Counter-{runId}-%" });
        var result = new Dictionary<string, (long, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
        return result;
    }
}
