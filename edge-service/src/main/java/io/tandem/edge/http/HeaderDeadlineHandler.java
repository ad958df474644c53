package io.tandem.edge.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Closes a connection whose request headers do not arrive in time: the clock starts with the
 * first byte of a request (seen by {@link #bytes}, before the HTTP codec) and stops when the codec
 * has decoded the request's headers (seen by {@link #requests}, after it). An idle timeout alone
 * does not stop a client that sends its headers a byte at a time (slowloris): every byte resets
 * it. A connection that sends nothing is the idle timeout's; while a request is being answered
 * the clock stays off (pipelined requests included), so that a server slow to read the next
 * request never counts against the client. Both handlers belong to one channel (not sharable).
 */
final class HeaderDeadlineHandler {

    private final long timeoutNanos;
    private final Consumer<String> onTimeout;
    private ScheduledFuture<?> deadline;
    /** Requests whose headers were read and whose response has not been written to its end; event loop only. */
    private int unanswered;

    /** Goes before the HTTP codec: raw bytes. */
    final ChannelInboundHandlerAdapter bytes = new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof ByteBuf && unanswered == 0 && deadline == null) {
                arm(ctx);
            }
            super.channelRead(ctx, msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            disarm();
            super.channelInactive(ctx);
        }
    };

    /** Goes after the HTTP codec: decoded requests in, responses out. */
    final ChannelDuplexHandler requests = new ChannelDuplexHandler() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof HttpRequest) {
                unanswered++;
                disarm();
            }
            super.channelRead(ctx, msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof LastHttpContent) {
                unanswered = Math.max(0, unanswered - 1);
            }
            super.write(ctx, msg, promise);
        }
    };

    HeaderDeadlineHandler(Duration timeout, Consumer<String> onTimeout) {
        this.timeoutNanos = timeout.toNanos();
        this.onTimeout = onTimeout;
    }

    private void arm(ChannelHandlerContext ctx) {
        deadline = ctx.executor().schedule(() -> {
            deadline = null;
            onTimeout.accept(String.valueOf(ctx.channel().remoteAddress()));
            ctx.channel().close();
        }, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void disarm() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }
}
