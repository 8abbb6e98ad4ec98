using Akka.EventDriven.Streaming;
using Akka.Streams;
using Akka.Streams.Dsl;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Akka.EventDriven.Kafka.Tests;

/// <summary>
/// The committer commits only offsets with no unprocessed message below them (issue 11 #2), and commits and
/// transactions never block a stream thread (issue 11 #13).
/// </summary>
public sealed class CommitSafetySpec(MockClusterFixture fixture, ITestOutputHelper output)
    : KafkaSpecBase(fixture, output), IClassFixture<MockClusterFixture>
{
    private static readonly CommitterSettings EveryMessage = new(MaxBatch: 1, MaxInterval: TimeSpan.FromHours(1));

    /// <summary>Produces "from".."from+count-1" to partition 0 (offsets equal the values on a fresh topic).</summary>
    private async Task ProduceAsync(string topic, int from, int count) =>
        await Source.From(Enumerable.Range(from, count))
            .Select(i => new ProducerMessage<Null, string, int>(topic, new Message<Null, string> { Value = i.ToString() }, i, Partition: 0))
            .RunWith(KafkaProducer.Sink<Null, string, int>(ProducerSettings()), _materializer).WaitAsync(Wait);

    /// <summary>The offsets of the first <paramref name="count"/> messages a new member of the group reads (it starts
    /// at the group's committed offset).</summary>
    private async Task<IReadOnlyList<long>> ReadFromCommittedAsync(KafkaConsumerSettings<Null, string> settings, string topic, int count)
    {
        var (control, done) = KafkaConsumer.CommittableSource(settings, topic)
            .Select(m => m.Record.Offset.Value)
            .Take(count)
            .ToMaterialized(Sink.Seq<long>(), Keep.Both)
            .Run(_materializer);
        var offsets = await done.WaitAsync(Wait);
        await control.Closed.WaitAsync(Wait);
        return offsets;
    }

    [Fact]
    public async Task Committer_never_commits_past_a_message_still_in_flight_in_an_unordered_stage()
    {
        var topic = Unique("unordered");
        var settings = ConsumerSettings(Unique("g"));
        _cluster.CreateTopic(topic, partitions: 1);
        await ProduceAsync(topic, 0, 10);

        var materializer = ActorMaterializer.Create(Sys, ActorMaterializerSettings.Create(Sys), "crash-unordered");
        var stuck = new TaskCompletionSource<CommittableMessage<Null, string>>();   // never completes
        var reached = 0;
        var control = KafkaConsumer.CommittableSource(settings, topic)
            .SelectAsyncUnordered(16, m => m.Record.Offset.Value == 2 ? stuck.Task : Task.FromResult(m))
            .Select(m => { Interlocked.Increment(ref reached); return m; })
            .ToMaterialized(Committer.Sink<CommittableMessage<Null, string>>(EveryMessage), Keep.Left)
            .Run(materializer);
        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref reached) == 9), Wait);   // all but offset 2
        materializer.Shutdown();                 // a crash while offset 2 is still being processed
        await control.Closed.WaitAsync(Wait);

        await ProduceAsync(topic, 10, 10);
        var again = await ReadFromCommittedAsync(settings, topic, 8);
        Assert.Contains(2L, again);              // the unprocessed message is consumed again
        Assert.True(again.Min() <= 2, $"the group resumed at offset {again.Min()}, past the unprocessed offset 2");
    }

    [Fact]
    public async Task Committer_commits_everything_once_the_out_of_order_message_completes()
    {
        var topic = Unique("caught-up");
        var settings = ConsumerSettings(Unique("g"));
        _cluster.CreateTopic(topic, partitions: 1);
        await ProduceAsync(topic, 0, 10);

        var release = new TaskCompletionSource();
        var reached = 0;
        var (control, done) = KafkaConsumer.CommittableSource(settings, topic)
            .SelectAsyncUnordered(16, m => m.Record.Offset.Value == 2 ? release.Task.ContinueWith(_ => m, TaskScheduler.Default) : Task.FromResult(m))
            .Select(m => { Interlocked.Increment(ref reached); return m; })
            .ToMaterialized(Committer.Sink<CommittableMessage<Null, string>>(EveryMessage), Keep.Both)
            .Run(_materializer);
        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref reached) == 9), Wait);
        release.SetResult();
        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref reached) == 10), Wait);
        control.Stop();
        await done.WaitAsync(Wait);
        await control.Closed.WaitAsync(Wait);

        await ProduceAsync(topic, 10, 3);
        Assert.Equal([10L, 11L, 12L], await ReadFromCommittedAsync(settings, topic, 3));   // resumed after all ten
    }

    [Fact]
    public async Task A_message_dropped_by_resume_supervision_holds_back_the_commit_and_is_consumed_again()
    {
        var topic = Unique("resume");
        var settings = ConsumerSettings(Unique("g"));
        _cluster.CreateTopic(topic, partitions: 1);
        await ProduceAsync(topic, 0, 10);

        var reached = 0;
        await using (var processor = new StreamProcessor(Sys))
        {
            processor.DefinePipeline(Pipeline.Create("resume")
                .From(KafkaConsumer.CommittableSource(settings, topic))
                .Select(m => m.Record.Offset.Value == 2 ? throw new InvalidOperationException("poison") : m)
                .Select(m => { Interlocked.Increment(ref reached); return m; })
                .To(Committer.Sink<CommittableMessage<Null, string>>(EveryMessage))
                .WithSupervision(PipelineSupervision.Resume));
            await processor.StartAsync("resume");
            await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref reached) == 9), Wait);
            await processor.StopAsync("resume");           // graceful: the final commit is made
            Assert.Equal(1, processor.GetMetrics("resume").Errors);
        }

        await ProduceAsync(topic, 10, 10);
        var again = await ReadFromCommittedAsync(settings, topic, 8);
        Assert.Equal(2L, again[0]);              // the dropped message was never counted as processed
    }

    [Fact]
    public async Task A_message_that_never_reaches_the_committer_fails_it_once_too_many_wait_behind_it()
    {
        var topic = Unique("filtered");
        _cluster.CreateTopic(topic, partitions: 1);
        await ProduceAsync(topic, 0, 10);

        var (control, done) = KafkaConsumer.CommittableSource(ConsumerSettings(Unique("g")), topic)
            .Where(m => m.Record.Offset.Value != 2)      // wrong: a filtered message must still reach the committer
            .ToMaterialized(Committer.Sink<CommittableMessage<Null, string>>(EveryMessage with { MaxHeldBack = 5 }), Keep.Both)
            .Run(_materializer);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => done.WaitAsync(Wait));
        Assert.Contains("after offset 1 that never reached", error.Message);
        await control.Closed.WaitAsync(Wait);
    }

    [Fact]
    public async Task A_commit_completes_while_the_source_waits_in_a_long_poll()
    {
        var topic = Unique("long-poll");
        var group = Unique("g");
        var settings = ConsumerSettings(group) with { PollTimeout = TimeSpan.FromMinutes(2) };
        _cluster.CreateTopic(topic, partitions: 1);
        await ProduceAsync(topic, 0, 5);

        var reached = 0;
        var (control, done) = KafkaConsumer.CommittableSource(settings, topic)
            .Select(m => { Interlocked.Increment(ref reached); return m; })
            // The batch never fills: only the interval commits, and by then the source is in its two-minute poll.
            .ToMaterialized(Committer.Sink<CommittableMessage<Null, string>>(new CommitterSettings(1000, TimeSpan.FromMilliseconds(200))), Keep.Both)
            .Run(_materializer);
        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref reached) == 5), Wait);

        using var reader = new ConsumerBuilder<Null, string>(new ConsumerConfig
        {
            BootstrapServers = _cluster.BootstrapServers,
            GroupId = group,
            EnableAutoCommit = false,
        }).Build();
        var partition = new TopicPartition(topic, new Partition(0));
        await AwaitConditionAsync(() => Task.FromResult(reader.Committed([partition], TimeSpan.FromSeconds(10))[0].Offset.Value == 5),
            TimeSpan.FromSeconds(60));           // well under the poll's two minutes
        control.Stop();
        await done.WaitAsync(Wait);
        await control.Closed.WaitAsync(Wait);    // closing does not wait for the poll either
    }

    [Fact]
    public async Task A_slow_transaction_commit_does_not_block_the_stages_fused_with_the_sink()
    {
        var input = Unique("in");
        var output = Unique("out");
        _cluster.CreateTopic(input, 1);
        _cluster.CreateTopic(output, 1);
        await ProduceAsync(input, 0, 1);

        var ticks = 0L;
        var ticksAtFirstMessage = -1L;
        TransactionStats stats;
        try
        {
            // One graph, no async boundary: the tick counter runs in the same actor as the transactional sink.
            stats = RunnableGraph.FromGraph(GraphDsl.Create(
                    Transactional.Sink(ProducerSettings(), new TransactionSettings(Unique("tx"), MaxBatch: 1, MaxInterval: TimeSpan.FromHours(1))),
                    (b, sink) =>
                    {
                        var messages = b.Add(KafkaConsumer.TransactionalSource(ConsumerSettings(Unique("g")), input)
                            .Select(m =>
                            {
                                _cluster.SetRoundTripTime(TimeSpan.FromSeconds(3));     // every transactional call is now slow
                                Interlocked.Exchange(ref ticksAtFirstMessage, Interlocked.Read(ref ticks));
                                return new ProducerMessage<Null, string, ICommittable>(output, new Message<Null, string> { Value = "x" }, m);
                            }));
                        b.From(messages).To(sink);
                        b.Add(Source.Tick(TimeSpan.Zero, TimeSpan.FromMilliseconds(20), 1)
                            .To(Sink.ForEach<int>(_ => Interlocked.Increment(ref ticks))));
                        return ClosedShape.Instance;
                    }))
                .Run(_materializer);

            // While the commit is waiting on the slow brokers, the fused tick stage keeps counting.
            await AwaitConditionAsync(() => Task.FromResult(Interlocked.Read(ref ticksAtFirstMessage) >= 0
                && Interlocked.Read(ref ticks) - Interlocked.Read(ref ticksAtFirstMessage) >= 25), TimeSpan.FromSeconds(60));
            Assert.Equal(0, stats.CommittedTransactions);
        }
        finally
        {
            _cluster.SetRoundTripTime(TimeSpan.Zero);
        }
        await AwaitConditionAsync(() => Task.FromResult(stats.CommittedTransactions == 1), TimeSpan.FromSeconds(60));   // and it does commit
    }
}
