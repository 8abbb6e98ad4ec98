using Akka.EventDriven.EventSourcing.Tests;
using Akka.EventDriven.Storage;
using Npgsql;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>Schema.EnsureAsync: one creation strategy for every part, memoised per database and part, and a failed
/// attempt is forgotten so that a database that was away is tried again.</summary>
public sealed class SchemaSpec
{
    [Fact]
    public async Task A_failed_ensure_is_forgotten_and_the_next_call_creates_the_tables()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ed-schema-missing-{Guid.NewGuid():N}");
        var store = new StoreSettings(StoreProvider.Sqlite, $"Data Source={Path.Combine(dir, "store.db")}");
        // The directory (the "database") does not exist yet: SQLite cannot open the file.
        await Assert.ThrowsAnyAsync<Exception>(() => Schema.EnsureAsync(store, SchemaPart.Journal));
        await Assert.ThrowsAnyAsync<Exception>(() => Schema.EnsureAsync(store, SchemaPart.Bus));
        Directory.CreateDirectory(dir);
        try
        {
            await Schema.EnsureAsync(store, SchemaPart.Journal);
            await Schema.EnsureAsync(store, SchemaPart.Bus);
            Assert.Equal(["bus_dead_letters", "bus_offsets", "event_journal", "tags"], await SqliteTablesAsync(store));
            // Memoised: a later call for the same database and part completes at once.
            Assert.True(Schema.EnsureAsync(store, SchemaPart.Journal).IsCompletedSuccessfully);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Concurrent_creators_of_every_part_on_an_empty_postgresql_schema_all_succeed()
    {
        var server = TestStore.PostgreSql();
        var schema = $"ed_schema_{Guid.NewGuid():N}";
        var baseCs = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, server.ConnectionString);
        await using (var admin = new NpgsqlConnection(baseCs))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", admin);
            await create.ExecuteNonQueryAsync();
        }
        try
        {
            // Distinct connection strings (application names) to the same schema: every creator runs its own creation
            // at the same moment, as nodes starting together do.
            var creators = Enumerable.Range(0, 8).SelectMany(i =>
            {
                var cs = new NpgsqlConnectionStringBuilder(baseCs) { SearchPath = schema, ApplicationName = $"schema-spec-{i}" };
                var store = new StoreSettings(StoreProvider.PostgreSql, cs.ConnectionString);
                return new[] { Schema.EnsureAsync(store, SchemaPart.Journal), Schema.EnsureAsync(store, SchemaPart.Bus) };
            }).ToArray();
            await Task.WhenAll(creators);

            await using var check = new NpgsqlConnection(baseCs);
            await check.OpenAsync();
            await using var tables = new NpgsqlCommand(
                "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = @s", check);
            tables.Parameters.AddWithValue("s", schema);
            Assert.Equal("bus_dead_letters,bus_offsets,event_journal,snapshot_store,tags", (string?)await tables.ExecuteScalarAsync());
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = new NpgsqlConnection(baseCs);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP SCHEMA {schema} CASCADE", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private static async Task<string[]> SqliteTablesAsync(StoreSettings store)
    {
        await using var connection = store.CreateConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) names.Add(reader.GetString(0));
        return [.. names];
    }
}
