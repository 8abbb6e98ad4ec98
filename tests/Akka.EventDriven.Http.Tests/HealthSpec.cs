using System.Net;
using Akka.EventDriven.Storage;
using Akka.EventDriven.EventSourcing.Tests;
using Npgsql;

namespace Akka.EventDriven.Http.Tests;

/// <summary>Readiness follows the journal's database: not ready while it refuses connections, ready again after,
/// with no restart of the node. Runs on a PostgreSQL database of its own, since it takes that database away.</summary>
public sealed class HealthSpec
{
    [Fact]
    public async Task Ready_turns_unhealthy_while_the_journal_database_is_away_and_healthy_again_after()
    {
        var store = await PrivateDatabase.CreateAsync();
        var own = new NpgsqlConnectionStringBuilder(StoreSettings.NormalizeConnectionString(store.Provider, store.ConnectionString));
        var server = new NpgsqlConnectionStringBuilder(own.ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using var host = await ServiceHost.StartAsync(store);
        using var http = host.Client(key: null);
        await Testing.UntilAsync(async () => Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode));

        try
        {
            await ExecAsync(server, $"ALTER DATABASE {own.Database} ALLOW_CONNECTIONS false");
            await ExecAsync(server, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{own.Database}'");
            await Testing.UntilAsync(async () =>
            {
                var response = await http.GetAsync("/health/ready");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                var body = await response.Content.ReadAsStringAsync();
                Assert.Contains("journal", body);
                Assert.Contains("does not answer", body);
            }, TimeSpan.FromSeconds(30));
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode); // alive, just not ready
        }
        finally
        {
            await ExecAsync(server, $"ALTER DATABASE {own.Database} ALLOW_CONNECTIONS true");
        }
        await Testing.UntilAsync(async () => Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode),
            TimeSpan.FromSeconds(30));
    }

    private static async Task ExecAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
